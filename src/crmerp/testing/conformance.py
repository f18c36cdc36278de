"""The adapter conformance suite: the standard checks every adapter must pass.

Subclass :class:`AdapterConformance` in a test module and override the
``adapter`` fixture; pytest then runs every check against your adapter::

    import pytest
    from crmerp.testing.conformance import AdapterConformance

    class TestMyAdapter(AdapterConformance):
        @pytest.fixture
        def adapter(self):
            return MyAdapter(base_url="http://localhost:8000")

Each failing check names the promise it found broken (``cursor promise broken:
record 17 was missed across pages``). Outside pytest, :func:`check_adapter` runs
the same checks and returns a :class:`ConformanceReport`.

The checks write records through the adapter: customers and products first,
then documents that refer to them by the native ids the adapter answered. Override
``make_canonical`` to write other samples, ``bad_payloads`` to say which native
payloads your system must refuse (default: an empty payload), and
``bad_native_records`` for payloads ``to_canonical`` must reject with a
:class:`~crmerp.DataError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pytest

from crmerp.adapters import Adapter
from crmerp.testing._bench import BadPayloads, Bench
from crmerp.testing._checks import CHECKS
from crmerp.testing._samples import SampleFactory, sample_record

__all__ = [
    "CHECKS",
    "AdapterConformance",
    "ConformanceReport",
    "SampleFactory",
    "check_adapter",
    "sample_record",
]


def _run(
    name: str,
    adapter: Adapter,
    make: SampleFactory,
    bad: BadPayloads | None,
    bad_native: BadPayloads | None,
) -> None:
    try:
        CHECKS[name](Bench(adapter, make), bad or {}, bad_native or {})
    except AssertionError:
        raise
    except Exception as exc:
        raise _raised(name, exc) from exc


def _raised(name: str, exc: Exception) -> AssertionError:
    """The failure of check ``name`` when the adapter raised ``exc`` instead of answering."""
    return AssertionError(f"{name}: the adapter raised {type(exc).__name__}: {exc}")


class AdapterConformance:
    """Standard checks for an adapter; subclass it and override the ``adapter`` fixture.

    Fixtures you may override: ``adapter`` (required: a fresh adapter on an
    empty or disposable system), ``make_canonical`` (a :class:`SampleFactory`),
    ``bad_payloads`` and ``bad_native_records`` (entity -> native payloads).
    """

    @pytest.fixture
    def adapter(self) -> Adapter:
        """A fresh adapter to check. Override this fixture."""
        raise pytest.fail("override the `adapter` fixture to return the adapter to check")

    @pytest.fixture
    def make_canonical(self) -> SampleFactory:
        """The sample records written: :func:`sample_record` unless overridden."""
        return sample_record

    @pytest.fixture
    def bad_payloads(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Entity -> native payloads a create must refuse (default: ``[{}]`` each)."""
        return {}

    @pytest.fixture
    def bad_native_records(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Entity -> native payloads ``to_canonical`` must refuse (default: ``[{}]`` each)."""
        return {}

    def test_capabilities(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """Capabilities name known entities, each with a mapping."""
        _run("capabilities", adapter, make_canonical, None, None)

    def test_round_trip(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """Every entity written reads back, by fetch and by change feed, as it was sent."""
        _run("round_trip", adapter, make_canonical, None, None)

    def test_native_fields_are_mapped(
        self, adapter: Adapter, make_canonical: SampleFactory
    ) -> None:
        """Every native key of a record read is mapped or ignored."""
        _run("native_fields_are_mapped", adapter, make_canonical, None, None)

    def test_pages_miss_nothing_and_repeat_nothing(
        self, adapter: Adapter, make_canonical: SampleFactory
    ) -> None:
        """Pages cover every change once; the next run returns only later changes."""
        _run("pages_miss_nothing_and_repeat_nothing", adapter, make_canonical, None, None)

    def test_change_while_paging_is_not_lost(
        self, adapter: Adapter, make_canonical: SampleFactory
    ) -> None:
        """A record changed while a read is paging is returned after the change."""
        _run("change_while_paging_is_not_lost", adapter, make_canonical, None, None)

    def test_deletes(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """Deletes are final, reported where claimed, and may be repeated."""
        _run("deletes", adapter, make_canonical, None, None)

    def test_write_results(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """One answer per op, in order; failures stay per record."""
        _run("write_results", adapter, make_canonical, None, None)

    def test_find_by_reference(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """Records are found by the reference stamped on create."""
        _run("find_by_reference", adapter, make_canonical, None, None)

    def test_conditional_writes(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """Versions change with each write; stale updates and deletes are refused."""
        _run("conditional_writes", adapter, make_canonical, None, None)

    def test_rewrite_is_idempotent(self, adapter: Adapter, make_canonical: SampleFactory) -> None:
        """A repeated create or update makes nothing new."""
        _run("rewrite_is_idempotent", adapter, make_canonical, None, None)

    def test_bad_payloads_fail_per_record(
        self,
        adapter: Adapter,
        make_canonical: SampleFactory,
        bad_payloads: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        """A bad payload fails for good, with a reason, and sinks nothing else."""
        _run("bad_payloads_fail_per_record", adapter, make_canonical, bad_payloads, None)

    def test_bad_native_records_raise_data_errors(
        self,
        adapter: Adapter,
        make_canonical: SampleFactory,
        bad_native_records: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        """A bad native record gives a DataError naming system, entity, id and field."""
        _run(
            "bad_native_records_raise_data_errors",
            adapter,
            make_canonical,
            None,
            bad_native_records,
        )


@attrs.frozen
class ConformanceReport:
    """The outcome of :func:`check_adapter`: checks passed and checks failed, by name."""

    passed: tuple[str, ...]
    failures: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures

    def __str__(self) -> str:
        lines = [f"{len(self.passed)} passed, {len(self.failures)} failed"]
        lines += [f"  {name}: {message}" for name, message in self.failures.items()]
        return "\n".join(lines)


def check_adapter(
    make_adapter: Callable[[], Adapter],
    *,
    make_canonical: SampleFactory = sample_record,
    bad_payloads: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    bad_native_records: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    only: Sequence[str] | None = None,
) -> ConformanceReport:
    """Run the conformance checks (all, or ``only`` those named) without pytest.

    Each check gets a fresh adapter from ``make_adapter``, closed afterwards. A
    failed check is reported with its message, which names the broken promise.
    An exception from the adapter (or from ``make_adapter`` or ``close``) fails
    that check, named with the exception, and the other checks still run.
    """
    passed: list[str] = []
    failures: dict[str, str] = {}
    for name in only or CHECKS:
        try:
            adapter = make_adapter()
        except Exception as exc:
            failures[name] = f"{name}: making the adapter raised {type(exc).__name__}: {exc}"
            continue
        try:
            _run(name, adapter, make_canonical, bad_payloads, bad_native_records)
        except AssertionError as exc:
            failures[name] = str(exc)
        else:
            passed.append(name)
        finally:
            _close(name, adapter, failures)
    return ConformanceReport(tuple(passed), failures)


def _close(name: str, adapter: Adapter, failures: dict[str, str]) -> None:
    try:
        adapter.close()
    except Exception as exc:
        failures.setdefault(name, f"{name}: close() raised {type(exc).__name__}: {exc}")
