"""Test support that ships with crmerp: fakes, hypothesis strategies, conformance suite.

* :class:`FakeCRM` and :class:`FakeERP` are in-memory systems with their own
  native schemas; tests act as their users. :class:`FakeCRMAdapter` and
  :class:`FakeERPAdapter` are their adapters (entry points ``fake-crm`` and
  ``fake-erp``).
* :class:`FaultPlan` injects seeded, reproducible faults into a fake adapter, or
  into any adapter wrapped in :class:`FaultyAdapter`;
  :class:`FakeClock` is the fakes' controllable server time.
* :func:`with_retries` and :func:`settle_writes` drive a flaky adapter in tests.
* ``crmerp.testing.strategies`` holds hypothesis strategies and
  ``crmerp.testing.conformance`` the adapter conformance suite.
"""

from crmerp.testing._adapters import FakeAdapter, FakeCRMAdapter, FakeERPAdapter
from crmerp.testing._clock import FakeClock
from crmerp.testing._crm import FakeCRM
from crmerp.testing._erp import FakeERP
from crmerp.testing._faults import (
    CRASH_POINTS,
    HOOKS,
    OPERATIONS,
    FaultPlan,
    SimulatedCrash,
    Trigger,
)
from crmerp.testing._faulty import FaultyAdapter
from crmerp.testing._hostile import normalise_payload
from crmerp.testing._retry import settle_writes, with_retries
from crmerp.testing._schema import TableSchema, WriteRefused
from crmerp.testing._system import FakeSystem, Snapshot

__all__ = [
    "CRASH_POINTS",
    "HOOKS",
    "OPERATIONS",
    "FakeAdapter",
    "FakeCRM",
    "FakeCRMAdapter",
    "FakeClock",
    "FakeERP",
    "FakeERPAdapter",
    "FakeSystem",
    "FaultPlan",
    "FaultyAdapter",
    "SimulatedCrash",
    "Snapshot",
    "TableSchema",
    "Trigger",
    "WriteRefused",
    "normalise_payload",
    "settle_writes",
    "with_retries",
]
