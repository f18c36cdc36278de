"""crmerp: keep a CRM and an ERP in agreement.

The public surface is re-exported here and from the sub-packages ``crmerp.models``,
``crmerp.adapters``, ``crmerp.sync``, ``crmerp.state``, ``crmerp.match`` and
``crmerp.testing``.
"""

from crmerp._errors import (
    AdapterError,
    ConfigError,
    CrmErpError,
    CurrencyMismatch,
    DataError,
    FatalError,
    IllegalTransition,
    InvalidRecord,
    LeaseHeld,
    LeaseLost,
    MappingError,
    RateLimited,
    RetryableError,
    RetryBudgetExceeded,
    StateCorrupt,
    StateError,
    StateMissing,
    StateRestored,
    StateVersionError,
    TotalsMismatch,
    TransientError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "AdapterError",
    "ConfigError",
    "CrmErpError",
    "CurrencyMismatch",
    "DataError",
    "FatalError",
    "IllegalTransition",
    "InvalidRecord",
    "LeaseHeld",
    "LeaseLost",
    "MappingError",
    "RateLimited",
    "RetryBudgetExceeded",
    "RetryableError",
    "StateCorrupt",
    "StateError",
    "StateMissing",
    "StateRestored",
    "StateVersionError",
    "TotalsMismatch",
    "TransientError",
    "UsageError",
    "__version__",
]
