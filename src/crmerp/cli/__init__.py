"""The ``crmerp`` command: a demo, and plan, sync, status, conflicts and quarantine.

The command is a typer application; :func:`main` is its console-script entry
point and :data:`app` the application, for embedding it or testing it with
``typer.testing.CliRunner``. :func:`load_config` reads a ``crmerp.toml``.
"""

from crmerp.cli._app import app, main
from crmerp.cli._config import Config, SystemConfig, load_config
from crmerp.cli._exit import ExitCode

__all__ = ["Config", "ExitCode", "SystemConfig", "app", "load_config", "main"]
