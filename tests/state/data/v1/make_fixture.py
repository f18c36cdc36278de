# How tests/state/data/v1 was made: this script, run with crmerp at 6e492e2 (schema version 1).
# Kept so a migration test reads a state written by that release, not by the current code.
from crmerp.state import open_state
from crmerp.sync import Rules, SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

crm, erp = FakeCRM("crm.json"), FakeERP("erp.json")
crm.create("Account", Name="Acme GmbH", Email__c="sales@acme.example")
crm.create("Account", Name="Zeta AG", Email__c="info@zeta.example")
erp.create(
    "party.party",
    name="Acme GmbH",
    contact_mechanisms=[{"type": "email", "value": "sales@acme.example"}],
)
erp.create("product.product", code="ESP-001", name="Espresso machine Pro")
state = open_state("sqlite:///state-v1.db", create=True)
engine = SyncEngine(
    crm=FakeCRMAdapter(crm),
    erp=FakeERPAdapter(erp),
    state=state,
    rules=Rules.default(),
    worker_id="fixture",
)
print(engine.run().summary())
crm.save()
erp.save()
state.close()
