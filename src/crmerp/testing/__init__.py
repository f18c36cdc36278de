"""Test support that ships with crmerp: fakes, hypothesis strategies, conformance suite."""

__all__: list[str] = []
