"""How products are matched: SKU, GTIN, name and unit of measure."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
from rapidfuzz import fuzz

from crmerp.match._comparators import NULL, Exact, Similarity
from crmerp.match._identifiers import gtin_key, sku_key, unit_key
from crmerp.match._spec import Comparison, Features, MatchSpec
from crmerp.match._text import fold
from crmerp.models import Product

__all__ = [
    "SkuComparator",
    "product_blocking_keys",
    "product_features",
    "product_spec",
    "token_sort_similarity",
]


def token_sort_similarity(a: str, b: str) -> float:
    """Similarity in 0..1 of two strings whatever the order of their words.

    >>> token_sort_similarity("cable usb c 2m", "usb c cable 2m")
    1.0
    """
    return fuzz.token_sort_ratio(a, b, processor=None) / 100.0


@attrs.frozen
class SkuComparator:
    """SKUs: equal, one inside the other (a supplier prefix or suffix), or different.

    Similar-looking SKUs are not evidence: ``AB-1234`` and ``AB-1235`` are
    usually neighbouring products.

    >>> SkuComparator()("AB1234", "XAB1234"), SkuComparator()("AB1234", "AB1235")
    (1, 2)
    """

    min_length: int = 4
    levels: tuple[str, ...] = ("exact", "contained", "different")

    def exact_keys(self, value: str | None) -> tuple[str, ...]:
        """What must be equal for the first level; lets u be counted, not sampled."""
        return (value,) if value else ()

    def __call__(self, a: str | None, b: str | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if not a or not b:
            return NULL
        if a == b:
            return 0
        short, long = sorted((a, b), key=len)
        return 1 if len(short) >= self.min_length and short in long else 2


def product_features(product: Product) -> Features:
    """The normalised values of a product that matching compares."""
    return {
        "sku": sku_key(product.sku) or None,
        "gtin": gtin_key(product.gtin) if product.gtin else None,
        "name": fold(product.name),
        "unit": unit_key(product.unit) if product.unit else None,
    }


def product_blocking_keys(features: Features) -> Iterator[str]:
    """Blocks a product falls in: SKU, GTIN, and its name's words."""
    if features["sku"]:
        yield f"k:{features['sku']}"
        yield f"k4:{features['sku'][-4:]}"
    if features["gtin"]:
        yield f"g:{features['gtin']}"
    words = sorted(features["name"].split())
    if words:
        yield f"n:{' '.join(words)}"
        yield f"n2:{' '.join(words[:2])}"


def product_spec() -> MatchSpec:
    """The default way products are matched: SKU, GTIN, name (word order free), unit."""
    return MatchSpec(
        entity="product",
        features=product_features,
        comparisons=(
            Comparison("sku", SkuComparator(), m=(0.8, 0.1, 0.1), u=(0.0001, 0.001, 0.9989)),
            Comparison("gtin", Exact(), m=(0.97, 0.03), u=(0.0001, 0.9999)),
            Comparison(
                "name",
                Similarity((0.95, 0.85), scorer=token_sort_similarity),
                m=(0.6, 0.2, 0.1, 0.1),
                u=(0.001, 0.002, 0.02, 0.977),
            ),
            Comparison("unit", Exact(), m=(0.9, 0.1), u=(0.4, 0.6)),
        ),
        blocking_keys=product_blocking_keys,
        sessions=(("name", "exact"), ("sku", "exact")),
    )
