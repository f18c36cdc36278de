"""Start ``trytond`` (same arguments as the ``trytond`` command) for the tests.

Usage: ``python _launch_trytond.py -c CONFIG_FILE -d DATABASE``

The one difference from the plain ``trytond`` command: unless the environment
sets ``CRMERP_TRYTON_EMAIL_DNS=1``, e-mail addresses are checked for syntax only.
trytond checks that the domain of every party e-mail has a mail server (a DNS
lookup through ``email_validator``); test machines without outside DNS would
then refuse every e-mail address with "The domain name ... does not exist".
The patch must run before trytond imports ``email_validator``'s function.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _syntax_only_email_check() -> None:
    import email_validator

    original = email_validator.validate_email

    def validate_email(email: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["check_deliverability"] = False
        return original(email, *args, **kwargs)

    email_validator.validate_email = validate_email  # type: ignore[assignment]


if __name__ == "__main__":
    if os.environ.get("CRMERP_TRYTON_EMAIL_DNS") != "1":
        _syntax_only_email_check()
    from trytond.cli import main  # type: ignore[import-untyped]

    sys.argv[0] = "trytond"
    sys.exit(main())
