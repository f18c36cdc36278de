"""Tryton (trytond 8.x) as the ERP side of crmerp, over JSON-RPC.

>>> from crmerp.adapters.tryton import TrytonAdapter
>>> adapter = TrytonAdapter("https://erp.example", "prod", "crmerp")  # doctest: +SKIP

The password comes from ``password=`` or the ``CRMERP_TRYTON_PASSWORD``
environment variable. The adapter is registered as ``"tryton"``
(:func:`crmerp.adapters.adapter_class`). Field tables, status mapping and the
known limits are in ``docs/systems/tryton.md``.
"""

from crmerp.adapters._registry import register_adapter
from crmerp.adapters.tryton._adapter import PASSWORD_ENV, TrytonAdapter
from crmerp.adapters.tryton._cursor import ChangeSource, Position, decode_cursor, encode_cursor
from crmerp.adapters.tryton._formula import compose_formula, parse_formula
from crmerp.adapters.tryton._mappings import (
    CUSTOMER,
    INVOICE,
    INVOICE_STATES,
    MAPPINGS,
    ORDER,
    PRICE_LIST,
    PRODUCT,
    order_status,
)
from crmerp.adapters.tryton._rpc import (
    DEFAULT_RETRY_AFTER,
    TrytonAuthError,
    TrytonConcurrencyError,
    TrytonFault,
    TrytonHTTPError,
    TrytonRateLimited,
    TrytonRPC,
    TrytonRPCError,
    TrytonServerFault,
    TrytonTransportError,
    TrytonUserError,
    TrytonUserWarning,
)
from crmerp.adapters.tryton._write import tax_identifier_type

__all__ = [
    "CUSTOMER",
    "DEFAULT_RETRY_AFTER",
    "INVOICE",
    "INVOICE_STATES",
    "MAPPINGS",
    "ORDER",
    "PASSWORD_ENV",
    "PRICE_LIST",
    "PRODUCT",
    "ChangeSource",
    "Position",
    "TrytonAdapter",
    "TrytonAuthError",
    "TrytonConcurrencyError",
    "TrytonFault",
    "TrytonHTTPError",
    "TrytonRPC",
    "TrytonRPCError",
    "TrytonRateLimited",
    "TrytonServerFault",
    "TrytonTransportError",
    "TrytonUserError",
    "TrytonUserWarning",
    "compose_formula",
    "decode_cursor",
    "encode_cursor",
    "order_status",
    "parse_formula",
    "tax_identifier_type",
]

register_adapter("tryton", TrytonAdapter)
