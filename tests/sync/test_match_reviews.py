"""A pair the matcher is unsure of waits for a person, beside the field conflicts."""

from __future__ import annotations

from tests.sync.conftest import World


def _unsure_pair(world: World) -> tuple[str, int]:
    # The same name and nothing else in common: too little to link on its own.
    account = world.crm.create("Account", Name="Schneider Logistik GmbH")
    party = world.erp.create("party.party", name="SCHNEIDER LOGISTIK G.m.b.H.")
    return account, party


def test_an_unsure_pair_waits_for_review_and_is_linked_when_confirmed(world: World) -> None:
    account, party = _unsure_pair(world)
    engine = world.engine()
    report = engine.run()
    assert report.entity("customer").sent_to_review == 1
    (review,) = [c for c in engine.conflicts() if c.kind == "match"]
    assert (review.crm, review.erp) == (account, str(party))
    # Nothing is created while the pair waits, even when one of them is edited.
    world.crm.edit("Account", account, Phone="+49 30 1234567")
    engine.run()
    assert len(world.crm.find("Account")) == 1
    assert len(world.erp.find("party.party")) == 1
    assert [c.id for c in engine.conflicts() if c.kind == "match"] == [review.id]
    engine.resolve(review.id, pick="link")
    engine.run()
    assert len(world.crm.find("Account")) == 1
    assert len(world.erp.find("party.party")) == 1
    (held,) = world.erp.find("party.party")
    assert {"type": "phone", "value": "+49301234567"} in held["contact_mechanisms"]
    assert engine.run().writes == 0


def test_a_pair_rejected_in_review_becomes_two_customers_and_is_not_proposed_again(
    world: World,
) -> None:
    _unsure_pair(world)
    engine = world.engine()
    engine.run()
    (review,) = [c for c in engine.conflicts() if c.kind == "match"]
    engine.resolve(review.id, pick="new")
    report = engine.run()
    assert report.entity("customer").sent_to_review == 0
    assert len(world.crm.find("Account")) == 2
    assert len(world.erp.find("party.party")) == 2
    assert not [c for c in engine.conflicts() if c.kind == "match"]
    assert engine.run().writes == 0
