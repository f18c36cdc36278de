"""What an initial sync costs before the engine does anything: the adapters' own floor.

    python benchmarks/sync_floor.py                  # 100,000 customers
    python benchmarks/sync_floor.py --records 20000

Copies the seeded fake CRM's customers into an empty fake ERP with no engine and no
state at all, the least any sync has to do, and times each step:

1. read every page from the fake CRM;
2. validate each native record into the canonical ``Customer`` (the CRM mapping);
3. turn each into the ERP's native payload (the ERP mapping);
4. write them to the fake ERP as creates, a page at a time.

The total is a ceiling on what any engine can reach on these fakes in one process:
the engine adds the three-way merge, echo hashes, the cross-reference and the
intents that make it crash-safe on top. Figures, not assertions; compare them
with ``benchmarks/sync.py`` on the same machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crmerp.adapters import WriteKind, WriteOp, reference_for
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
from sync import seed

_PAGE = 1000
_STEPS = (
    "read the CRM's pages",
    "validate into Customer",
    "map to the ERP's payload",
    "write creates to the ERP",
)


def main() -> None:
    """Seed the fake CRM, then time each step of a bare copy into the fake ERP."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    crm_system, erp_system = FakeCRM(), FakeERP()
    seed(crm_system, args.records)
    crm = FakeCRMAdapter(crm_system, page_size=_PAGE)
    erp = FakeERPAdapter(erp_system, page_size=_PAGE)
    spent = dict.fromkeys(_STEPS, 0.0)
    count = written = 0
    clock = time.process_time
    pages = crm.read_changes("customer", None)
    while True:
        # One page at a time, as the engine goes: nothing but a page is held.
        started = clock()
        page = next(pages, None)
        spent[_STEPS[0]] += clock() - started
        if page is None:
            break
        started = clock()
        canonical = [crm.to_canonical("customer", r) for r in page.records]
        spent[_STEPS[1]] += clock() - started
        started = clock()
        payloads = [erp.to_native("customer", c) for c in canonical]
        spent[_STEPS[2]] += clock() - started
        started = clock()
        ops = [
            WriteOp(WriteKind.CREATE, reference_for(f"floor-{count + k}"), payload)
            for k, payload in enumerate(payloads)
        ]
        written += len(erp.write_checked("customer", ops))
        spent[_STEPS[3]] += clock() - started
        count += len(page.records)
    total = sum(spent.values())
    print(f"{count:,} customers read, {written:,} written; CPU seconds of this process:")
    for name, seconds in spent.items():
        print(f"  {name:<26} {seconds:6.2f} s  {1e6 * seconds / count:6.1f} us/record")
    print(
        f"  {'bare copy, no engine':<26} {total:6.2f} s  {1e6 * total / count:6.1f} us/record"
        f" = {count / total:,.0f} records/s at most"
    )


if __name__ == "__main__":
    main()
