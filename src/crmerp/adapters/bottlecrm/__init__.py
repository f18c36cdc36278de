"""BottleCRM (PyPI ``django-crm``) as the CRM of a sync.

>>> from crmerp.adapters.bottlecrm import BottleCRMAdapter
>>> BottleCRMAdapter.system
'bottlecrm'

:class:`BottleCRMAdapter` maps accounts (with their contacts), products, price
lists, opportunities (quotes) and invoices; :class:`BottleCRMClient` is the typed
REST client under it. Its errors are members of crmerp's error tree. See
``docs/systems/bottlecrm.md`` for configuration, the field maps and the limits.
"""

from crmerp.adapters._registry import register_adapter
from crmerp.adapters.bottlecrm._adapter import BottleCRMAdapter
from crmerp.adapters.bottlecrm._client import BottleCRMClient
from crmerp.adapters.bottlecrm._errors import (
    BottleCRMAuthError,
    BottleCRMConflict,
    BottleCRMError,
    BottleCRMHTTPError,
    BottleCRMNotFound,
    BottleCRMProtocolError,
    BottleCRMRateLimited,
    BottleCRMServerError,
    BottleCRMTransportError,
    BottleCRMUnavailableError,
    BottleCRMValidationError,
)

__all__ = [
    "BottleCRMAdapter",
    "BottleCRMAuthError",
    "BottleCRMClient",
    "BottleCRMConflict",
    "BottleCRMError",
    "BottleCRMHTTPError",
    "BottleCRMNotFound",
    "BottleCRMProtocolError",
    "BottleCRMRateLimited",
    "BottleCRMServerError",
    "BottleCRMTransportError",
    "BottleCRMUnavailableError",
    "BottleCRMValidationError",
]

# Until the "crmerp.adapters" entry point is declared in pyproject.toml.
register_adapter("bottlecrm", BottleCRMAdapter)
