"""Benchmark of crmerp.match on synthetic CRM and ERP customers with known true links.

Run from the repository root::

    python benchmarks/match.py            # 5,000 and 100,000 customers per system
    python benchmarks/match.py 20000      # other sizes
    python benchmarks/match.py --curve    # also precision and recall at other thresholds

For each size it prints precision, recall and F1 of the auto-links, blocking
recall (the share of true pairs that blocking proposed at all), the pairs
compared, the review items, wall time of matching (data generation excluded)
and the process's peak resident memory, beside what it held before matching
(mostly the generated records). CPU time is printed beside wall time:
on a shared machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.match.synthetic import customer_systems

from crmerp.match import ProbabilisticMatcher, Thresholds, decide

_CURVE = (0.999, 0.995, 0.99, 0.98, 0.95, 0.9)


def _run(size: int, seed: int, thresholds: Thresholds, corruption: float, curve: bool) -> None:
    started = time.perf_counter()
    systems = customer_systems(size, seed=seed, corruption=corruption)
    generated = time.perf_counter() - started
    before_mib = _resident_mib()
    matcher = ProbabilisticMatcher(thresholds)
    started, cpu_started = time.perf_counter(), time.process_time()
    linkage = matcher.link("customer", systems.crm, systems.erp)
    assert linkage is not None
    decisions = decide(linkage.pairs, thresholds)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    truth = systems.truth
    links = set(decisions.links)
    correct = len(links & truth)
    precision = correct / len(links) if links else 1.0
    recall = correct / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    proposed = {(p.left, p.right) for p in linkage.pairs}
    reviews_true = sum((r.crm_id, r.erp_id) in truth for r in decisions.reviews)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{size:,} x {size:,} customers, {len(truth):,} true links")
    print(f"  seed {seed}, corruption {corruption}")
    print(f"  auto-link   precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}")
    print(f"              {len(links):,} links, {len(links) - correct} wrong")
    print(f"  blocking    recall {len(proposed & truth) / len(truth):.4f}")
    per_record = linkage.candidates / size
    print(f"              {linkage.candidates:,} pairs compared ({per_record:.1f} per record)")
    print(f"  review      {len(decisions.reviews):,} items, {reviews_true:,} of them true pairs")
    print(f"  recall with reviews confirmed {(correct + reviews_true) / len(truth):.4f}")
    print(f"  wall time   {elapsed:.2f} s matching, {cpu:.2f} s CPU")
    print(f"              ({generated:.1f} s generating data, not counted)")
    print(f"  peak RSS    {peak_mib:,.0f} MiB ({before_mib:,.0f} MiB held before matching)")
    print(f"  estimated   {linkage.parameters.expected_matches:,.0f} true matches")
    if curve:
        print("  link at     precision  recall  F1      wrong")
        for link in _CURVE:
            at = Thresholds(link=link, review=min(thresholds.review, link))
            found = set(decide(linkage.pairs, at).links)
            right = len(found & truth)
            p, r = right / len(found), right / len(truth)
            mark = "  (default)" if link == Thresholds().link else ""
            wrong = len(found) - right
            print(f"  {link:<10} {p:.5f}    {r:.4f}  {2 * p * r / (p + r):.4f}  {wrong}{mark}")


def _resident_mib() -> float:
    # The resident set now (Linux); the data generated for the run is most of it.
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    """Parse the command line and run each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--link", type=float, default=Thresholds().link)
    parser.add_argument("--review", type=float, default=Thresholds().review)
    parser.add_argument("--corruption", type=float, default=1.0, help="scale of the damage")
    parser.add_argument(
        "--curve", action="store_true", help="also print the figures at other link thresholds"
    )
    args = parser.parse_args()
    thresholds = Thresholds(link=args.link, review=args.review)
    for size in args.sizes:
        _run(size, args.seed, thresholds, args.corruption, args.curve)


if __name__ == "__main__":
    main()
