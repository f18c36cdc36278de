"""The standard adapter conformance suite, run against a real BottleCRM server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from crmerp.adapters.bottlecrm import BottleCRMAdapter
from crmerp.models import CanonicalModel, Customer, Product, Quote
from crmerp.testing.conformance import AdapterConformance, SampleFactory, sample_record

pytestmark = pytest.mark.live


class TestBottleCRMConformance(AdapterConformance):
    """Every conformance check, on the session's shared server."""

    @pytest.fixture
    def adapter(self, bottlecrm_server: Any) -> Iterator[BottleCRMAdapter]:
        adapter = BottleCRMAdapter(bottlecrm_server.base_url, bottlecrm_server.token)
        yield adapter
        adapter.close()

    @pytest.fixture
    def make_canonical(self) -> SampleFactory:
        # The server is shared and keeps account names, contact emails and SKUs
        # unique per org, so each test tags the samples it writes.
        tag = uuid.uuid4().hex[:8]

        def tagged(entity: str, n: int, refs: Mapping[str, Sequence[str]]) -> CanonicalModel:
            record = sample_record(entity, n, refs)
            if isinstance(record, Customer):
                return record.model_copy(
                    update={
                        "name": f"{record.name} {tag}",
                        "emails": [e.replace("@", f"+{tag}@") for e in record.emails],
                        "contacts": [
                            c.model_copy(update={"email": c.email.replace("@", f"+{tag}@")})
                            if c.email
                            else c
                            for c in record.contacts
                        ],
                    }
                )
            if isinstance(record, Product):
                return record.model_copy(update={"sku": f"{record.sku}-{tag}"})
            if isinstance(record, Quote):
                return record.model_copy(update={"number": f"{record.number} {tag}"})
            return record

        return tagged
