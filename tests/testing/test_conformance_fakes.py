"""The shipped fakes and the toy adapter pass the conformance suite, with and without faults."""

from pathlib import Path

import pytest

from crmerp.adapters import Adapter
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter, FaultPlan
from crmerp.testing.conformance import AdapterConformance
from tests.testing.toy_adapter import ToyAdapter


def flaky(seed: int) -> FaultPlan:
    """Transient trouble of every kind the engine retries through."""
    return FaultPlan(
        seed=seed, transient=0.2, rate_limited=0.05, lost_answer=0.1, partial_failure=0.1
    )


class TestFakeCRM(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return FakeCRMAdapter(page_size=4)


class TestFakeCRMWithTransientFaults(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return FakeCRMAdapter(faults=flaky(seed=11))


class TestFakeCRMBackedByAFile(AdapterConformance):
    @pytest.fixture
    def adapter(self, tmp_path: Path) -> Adapter:
        return FakeCRMAdapter(path=tmp_path / "crm.json")


class TestFakeERP(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return FakeERPAdapter(page_size=4)


class TestFakeERPWithTransientFaults(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return FakeERPAdapter(faults=flaky(seed=23))


class TestFakeERPReportingDeletes(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return FakeERPAdapter(reports_deletes=True, faults=flaky(seed=5))


class TestToyAdapter(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> Adapter:
        return ToyAdapter()


def test_the_toy_adapter_is_under_100_lines() -> None:
    source = Path(__file__).with_name("toy_adapter.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 100


def test_faults_were_really_injected_while_the_suite_ran() -> None:
    from crmerp.testing.conformance import check_adapter

    plan = flaky(seed=11)
    report = check_adapter(lambda: FakeCRMAdapter(faults=plan))
    assert report.ok, report
    for kind in ("transient", "rate_limited", "lost_answer", "partial_failure"):
        assert plan.injected[kind] > 0, kind
