"""Fenced leases in the state: one row per unit of work, an instance and a token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmerp import LeaseHeld, LeaseLost
from crmerp.state import StateStore, open_state

TTL = timedelta(minutes=5)
UNIT = "s|customer|0/1"


def take(state: StateStore, instance: str, *, ttl: timedelta = TTL, worker: str = "w") -> int:
    with state.transaction("s") as tx:
        token: int = tx.leases.acquire(worker, ttl, unit=UNIT, instance=instance)
        return token


def test_the_token_grows_at_each_take_over_and_stays_across_renewals(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        assert take(state, "w@a") == 1
        assert take(state, "w@a") == 1  # renewal by the same instance
        with state.transaction("s") as tx:
            tx.leases.release("w", instance="w@a")
        assert take(state, "w@b") == 2  # released: taken over, the token does not go back
        take(state, "w@b", ttl=timedelta(seconds=-1))  # lapses
        assert take(state, "w@a") == 3
        assert take(state, "w@a") == 3
        with state.transaction("s") as tx:
            (lease,) = tx.leases.all()
        assert (lease.unit, lease.holder, lease.instance, lease.token) == (UNIT, "w", "w@a", 3)


def test_a_second_instance_of_the_same_worker_is_refused_while_the_lease_is_live(
    state_url: str,
) -> None:
    with open_state(state_url, create=True) as state:
        take(state, "w@first")
        with pytest.raises(LeaseHeld) as info:
            take(state, "w@second")
        assert (info.value.holder, info.value.instance, info.value.unit) == ("w", "w@first", UNIT)
        with state.transaction("s") as tx:  # a refused take changed nothing
            (lease,) = tx.leases.all()
            assert (lease.instance, lease.token) == ("w@first", 1)
            # An instance known to be dead may be taken over.
            assert tx.leases.acquire("w", TTL, unit=UNIT, instance="w@b", take_from=["w@first"])
            assert tx.leases.all()[0].token == 2


def test_units_of_one_scope_are_leased_apart(state_url: str) -> None:
    with open_state(state_url, create=True) as state, state.transaction("s") as tx:
        assert tx.leases.acquire("w1", TTL, unit="s|customer|0/1", instance="w1@a") == 1
        assert tx.leases.acquire("w2", TTL, unit="s|product|0/1", instance="w2@b") == 1
        assert tx.leases.holder("s|product|0/1") == "w2"


def test_a_commit_after_a_take_over_raises_lease_lost_and_writes_nothing(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        token = take(state, "w@a")
        with state.transaction("s") as tx:  # the fence passes while the lease is ours
            tx.leases.check("w@a", {UNIT: token}, TTL, checked=[UNIT])
        take(state, "w@a", ttl=timedelta(seconds=-1))  # stalled past its lease
        assert take(state, "w@b") == 2

        def commit_as_the_stalled_worker() -> None:
            with state.transaction("s") as tx:
                tx.links.put([("customer", "crm", "A-1", "g-1", None)])
                tx.leases.check("w@a", {UNIT: token}, TTL, checked=[UNIT])

        with pytest.raises(LeaseLost) as info:
            commit_as_the_stalled_worker()
        assert (info.value.token, info.value.current_token, info.value.holder) == (1, 2, "w")
        with state.transaction("s") as tx:
            assert tx.links.by_native("customer", "crm", ["A-1"]) == {}
            (lease,) = tx.leases.all()
            assert (lease.instance, lease.token) == ("w@b", 2)


def test_the_fence_renews_the_units_still_held(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        token = take(state, "w@a", ttl=timedelta(seconds=-1))
        with state.transaction("s") as tx:
            assert tx.leases.holder() is None  # lapsed, not taken over
            tx.leases.check("w@a", {UNIT: token}, TTL, checked=[UNIT])
            assert tx.leases.holder() == "w"
        with pytest.raises(LeaseHeld):
            take(state, "w@b")
