"""Model validation throughput: Customer and a 10-line Order, from dicts and from JSON.

    python benchmarks/models.py [--seconds 2]

Prints records/s for each case. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from crmerp.models import Customer, Money, Order


def customer_dict(n: int) -> dict[str, Any]:
    return {
        "id": f"c-{n}",
        "updated_at": "2025-03-01T12:00:00+01:00",
        "kind": "company",
        "name": f"Customer {n} GmbH",
        "addresses": [
            {
                "kind": "billing",
                "street": f"Hauptstrasse {n % 300}",
                "city": "Berlin",
                "postcode": f"{10000 + n % 9000}",
                "country": "DE",
            }
        ],
        "tax_id": None,
        "emails": [f"buyer{n}@customer{n}.example.com", f"Billing.{n}@Customer{n}.Example.com"],
        "phones": [f"+4930{n % 10_000_000:07d}"],
        "contacts": [
            {"name": f"Jane Doe {n}", "role": "buyer", "email": f"jane{n}@customer{n}.example.com"}
        ],
        "credit_limit": {"amount": f"{n % 100000}.50", "currency": "EUR"},
        "payment_terms": "net 30",
        "currency": "EUR",
        "active": True,
    }


def order_dict(n: int) -> dict[str, Any]:
    lines = [
        {
            "product_id": f"p-{i}",
            "description": f"Item {i}",
            "quantity": str(1 + i),
            "unit": "unit",
            "unit_price": {"amount": f"{i + 1}.{n % 100:02d}", "currency": "EUR"},
            "discount_percent": str(i % 3 * 5),
            "tax_rate": "19",
        }
        for i in range(10)
    ]
    return {
        "id": f"o-{n}",
        "updated_at": "2025-03-01T12:00:00Z",
        "number": f"SO{n}",
        "customer_id": f"c-{n}",
        "currency": "EUR",
        "status": "confirmed",
        "lines": lines,
    }


def rate(label: str, fn: Callable[[Any], Any], inputs: list[Any], seconds: float) -> None:
    """Records per second of wall time and of this process's CPU time (the CPU
    figure is steadier on a shared machine)."""
    count = 0
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for item in inputs:
            fn(item)
        count += len(inputs)
    wall = time.perf_counter() - started
    used = time.process_time() - cpu
    print(f"{label:<30} {count / wall:>9,.0f} records/s wall  {count / used:>9,.0f} records/s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    customers = [customer_dict(n) for n in range(2000)]
    orders = [order_dict(n) for n in range(500)]
    customer_json = [json.dumps(c) for c in customers]
    order_json = [json.dumps(o) for o in orders]
    check = Order.model_validate(orders[0])
    assert check.total is not None
    assert check.total.currency == "EUR"
    assert Customer.model_validate(customers[0]).credit_limit == Money(Decimal("0.50"), "EUR")
    rate("Customer from dict", Customer.model_validate, customers, args.seconds)
    rate("Customer from JSON", Customer.model_validate_json, customer_json, args.seconds)
    rate("Order (10 lines) from dict", Order.model_validate, orders, args.seconds)
    rate("Order (10 lines) from JSON", Order.model_validate_json, order_json, args.seconds)


if __name__ == "__main__":
    main()
