"""Units of work: what one lease covers and what an intent belongs to.

A run works entity by entity; each entity of a scope is split into partitions by
a hash range of the global id. Today every entity has one partition covering all
global ids (``Partition(0, 1)``); the value exists so that a later split needs no
change of the lease or intent rows, only more partitions.

>>> Unit("default", "customer").key
'default|customer|0/1'
>>> Unit("eu", "order", Partition(2, 4)).key
'eu|order|2/4'
"""

from __future__ import annotations

import attrs

__all__ = ["Partition", "Unit"]


def _check_partition(instance: Partition, _attribute: object, _value: object) -> None:
    if instance.count < 1 or not 0 <= instance.index < instance.count:
        raise ValueError(
            f"a partition is slice index of count with 0 <= index < count, "
            f"not {instance.index} of {instance.count}"
        )


@attrs.frozen
class Partition:
    """Slice ``index`` of ``count`` equal hash ranges of the global id."""

    index: int = attrs.field(default=0, validator=_check_partition)
    count: int = attrs.field(default=1, validator=_check_partition)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


WHOLE = Partition(0, 1)
"""The one partition that covers every global id."""


@attrs.frozen
class Unit:
    """One unit of work: an entity of a sync scope, or one partition of it.

    Leases are taken per unit and every intent records the unit it belongs to, so
    recovery settles only the intents of units the recovering worker holds.
    """

    scope: str
    entity: str
    partition: Partition = WHOLE

    @property
    def key(self) -> str:
        """Stable text naming the unit in the state (lease and intent rows).

        The scope comes first and may contain anything; entity and partition do
        not contain ``|``, so the key reads back unambiguously from the right.
        """
        return f"{self.scope}|{self.entity}|{self.partition}"
