"""The sync engine: three-way, field-level merge under declared rules.

>>> from crmerp.sync import Rules, SyncEngine
>>> Rules.default().entity("product").field("name").direction.value
'erp->crm'
"""

from crmerp.sync._engine import SyncEngine
from crmerp.sync._history import RecordHistory
from crmerp.sync._merge import FieldChange, FieldConflict, MergeOutcome, SideView, merge
from crmerp.sync._report import EntityReport, PlannedWrite, SideReport, SyncReport
from crmerp.sync._retry import RetryPolicy
from crmerp.sync._rules import DeletePolicy, Direction, EntityRules, FieldRule, Policy, Rules
from crmerp.sync._unit import Partition, Unit

__all__ = [
    "DeletePolicy",
    "Direction",
    "EntityReport",
    "EntityRules",
    "FieldChange",
    "FieldConflict",
    "FieldRule",
    "MergeOutcome",
    "Partition",
    "PlannedWrite",
    "Policy",
    "RecordHistory",
    "RetryPolicy",
    "Rules",
    "SideReport",
    "SideView",
    "SyncEngine",
    "SyncReport",
    "Unit",
    "merge",
]
