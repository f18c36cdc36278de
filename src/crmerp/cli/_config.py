"""``crmerp.toml``: which adapters to use, where the state lives, and the rules.

::

    [state]
    url = "sqlite:///crmerp.db"            # or "postgresql://sync:${PGPASSWORD}@db/crmerp"

    [crm]
    adapter = "fake-crm"                   # an entry-point name in "crmerp.adapters",
                                           # or "module:Class" (a module importable, or
                                           # a .py file beside this config)
    instance = "crm-prod"                  # optional: names the instance (default: the adapter's)
    [crm.settings]                         # passed to the adapter as keyword arguments
    path = "crm.json"

    [erp]
    adapter = "fake-erp"
    [erp.settings]
    path = "erp.json"

    [sync]
    scope = "default"
    batch_size = 500
    matcher = "probabilistic"              # or "exact", or "none"

    [match]                                # the probabilistic matcher's bands
    link = 0.95                            # link at once from this probability up
    review = 0.5                           # a review item from this one up

    [rules]
    path = "rules.toml"                    # or rules tables inline: [rules.customer] ...

Relative paths in adapter settings are taken from the config file's folder, not
the working directory: a setting whose adapter parameter is a path
(``os.PathLike`` in its signature) and a ``sqlite:///`` URL, as for the state.

A string holding ``${NAME}`` takes the value of the environment variable ``NAME``;
such values are secrets: :meth:`Config.redact` masks them as ``***`` wherever
they would be shown. So are settings named like secrets (``password``, ``token``,
``api_key``...) and a password in the state URL, even when written in the file.
Every problem is a :class:`~crmerp.ConfigError` naming the file, the line and the
key.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from crmerp._errors import ConfigError, UsageError
from crmerp.cli._locate import TomlLocator

# The adapters and the rules are imported where a config is loaded or used, not
# here: `crmerp --help` imports this module and must not pay for the library.
if TYPE_CHECKING:
    from crmerp.adapters import Adapter
    from crmerp.sync import Rules

__all__ = ["CONFIG_ENV", "CONFIG_FILE", "MASK", "Config", "SystemConfig", "load_config"]

CONFIG_FILE = "crmerp.toml"
"""The config file looked for in the working directory."""
CONFIG_ENV = "CRMERP_CONFIG"
"""Environment variable naming the config file, when ``--config`` is not given."""
CONFIG_DOCS = "Guides > The crmerp command > crmerp.toml"
"""Where the docs describe the config file (a test holds the page and heading there)."""
MASK = "***"
"""What a secret is shown as."""
MATCHERS = ("probabilistic", "exact", "none")
LINK, REVIEW = 0.95, 0.5
"""``[match]`` defaults: those of :class:`crmerp.match.Thresholds`, written out so
that loading a config does not import the matcher (a test holds them equal)."""

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_NAME = re.compile(r"password|passwd|secret|token|api_?key|credential", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[a-z+]+://[^:/@]*:([^@]+)@")
_SECTIONS = {
    "state": {"url"},
    "crm": {"adapter", "settings", "instance"},
    "erp": {"adapter", "settings", "instance"},
    "sync": {"scope", "batch_size", "matcher"},
    "match": {"link", "review"},
    "rules": None,  # entity tables, checked by Rules
}


@attrs.frozen
class SystemConfig:
    """One side of the sync: the adapter's registered name and its settings."""

    role: str
    adapter: str
    settings: Mapping[str, Any]
    secret_keys: frozenset[str] = frozenset()
    instance: str | None = None
    """The instance named in the file, used instead of what the adapter reports."""

    def shown(self) -> dict[str, Any]:
        """The settings with every value read from the environment masked."""
        return {k: MASK if k in self.secret_keys else v for k, v in self.settings.items()}


@attrs.frozen
class Config:
    """A loaded and checked ``crmerp.toml``."""

    path: Path
    state_url: str
    crm: SystemConfig
    erp: SystemConfig
    rules: Rules
    rules_path: Path | None = None
    scope: str = "default"
    batch_size: int = 500
    matcher: str = "probabilistic"
    match_link: float = LINK
    match_review: float = REVIEW
    secrets: frozenset[str] = frozenset()
    locator: TomlLocator | None = attrs.field(default=None, eq=False, repr=False)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def shown(self) -> dict[str, Any]:
        """A JSON-ready view of the config, secrets masked."""
        return {
            "path": str(self.path),
            "state": {"url": self.redact(self.state_url)},
            "crm": {"adapter": self.crm.adapter, "settings": self.crm.shown()},
            "erp": {"adapter": self.erp.adapter, "settings": self.erp.shown()},
            "sync": {"scope": self.scope, "batch_size": self.batch_size, "matcher": self.matcher},
            "match": {"link": self.match_link, "review": self.match_review},
            "rules": {"path": str(self.rules_path) if self.rules_path else None},
        }

    def error(self, message: str, key: str) -> ConfigError:
        """A :class:`~crmerp.ConfigError` pointing at ``key`` in this file."""
        line = self.locator.line_of(key) if self.locator else None
        return ConfigError(self.redact(message), path=str(self.path), line=line, key=key)

    def build_adapter(self, role: str) -> Adapter:
        """Create the adapter of side ``role`` (``"crm"`` or ``"erp"``) from its settings."""
        from crmerp.adapters import adapter_class

        side = self.crm if role == "crm" else self.erp
        try:
            cls = (
                _imported_class(side.adapter, self.path.parent)
                if ":" in side.adapter
                else adapter_class(side.adapter)
            )
        except UsageError as exc:
            raise self.error(_plain(exc), f"{role}.adapter") from None
        settings = _resolved_paths(cls, dict(side.settings), self.path.parent)
        self._check_signature(cls, role, settings)
        try:
            adapter = cls(**settings)
        except (UsageError, TypeError, ValueError, OSError) as exc:
            raise self.error(
                f"adapter {side.adapter!r} refused its settings: {_plain(exc)}", f"{role}.settings"
            ) from None
        if side.instance is not None:
            adapter.instance_name = side.instance
        return adapter

    def _check_signature(self, cls: type[Adapter], role: str, settings: dict[str, Any]) -> None:
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):  # a class without introspectable signature
            return
        params = signature.parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return
        known = [
            n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        for key in settings:
            if key not in known:
                raise self.error(
                    f"adapter {self.side(role).adapter!r} has no setting {key!r}; "
                    f"known: {', '.join(known) or 'none'}",
                    f"{role}.settings.{key}",
                )
        missing = [
            n
            for n, p in params.items()
            if p.default is p.empty
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and n not in settings
        ]
        if missing:
            raise self.error(
                f"adapter {self.side(role).adapter!r} needs setting {missing[0]!r}",
                f"{role}.settings",
            )

    def side(self, role: str) -> SystemConfig:
        """The config of side ``role``."""
        return self.crm if role == "crm" else self.erp


def _imported_class(target: str, folder: Path) -> type[Adapter]:
    """The adapter class named ``module:Class``; the module may be a file in ``folder``."""
    from crmerp.adapters import Adapter

    module_name, _, class_name = target.partition(":")
    try:
        module = _import(module_name, folder)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}", code="config-import") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UsageError(
            f"{target!r} does not name an Adapter subclass", code="config-import"
        ) from None
    return cls


def _import(name: str, folder: Path) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.split(".")[0]:
            raise
    sys.path.insert(0, str(folder.resolve()))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder.resolve()))


def _resolved_paths(cls: type[Adapter], settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``settings`` with relative paths taken from ``folder``: the values of
    parameters typed as paths, and ``sqlite:///`` URLs."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # annotations that do not resolve: no path is known
        hints = {}
    for key, value in settings.items():
        if not isinstance(value, str):
            continue
        if value.startswith("sqlite:///"):
            file = value.removeprefix("sqlite:///")
            if file and not file.startswith(":") and not Path(file).is_absolute():
                settings[key] = f"sqlite:///{folder / file}"
        elif _is_path(hints.get(key)) and not Path(value).is_absolute():
            settings[key] = str(folder / value)
    return settings


def _is_path(annotation: Any) -> bool:
    kinds = typing.get_args(annotation) or (annotation,)
    return any(
        isinstance(k, type) and issubclass(k, os.PathLike | PurePath)
        for k in (typing.get_origin(k) or k for k in kinds)
    )


def _plain(exc: Exception) -> str:
    """An error's message without the ``[code]`` suffix of usage errors."""
    text = str(exc)
    code = getattr(exc, "code", None)
    return text.removesuffix(f" [{code}]") if code else text


def find_config(path: str | os.PathLike[str] | None) -> Path:
    """The config file to use: ``path``, else ``$CRMERP_CONFIG``, else ``./crmerp.toml``."""
    chosen = path or os.environ.get(CONFIG_ENV) or CONFIG_FILE
    return Path(chosen)


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and check a ``crmerp.toml`` (see the module docstring for its shape).

    ``environ`` (default ``os.environ``) supplies the ``${NAME}`` values.
    """
    file = find_config(path)
    if not file.is_file():
        raise ConfigError(
            f"no config file {str(file)!r}; write one (the docs describe it under "
            f"{CONFIG_DOCS}; `crmerp demo` writes an example, crmerp-demo.toml) "
            "or pass --config",
            path=str(file),
        )
    text = file.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"invalid TOML: {exc}", path=str(file), line=int(found.group(1)) if found else None
        ) from None
    return _Loader(file, text, environ if environ is not None else os.environ).load(data)


class _Loader:
    def __init__(self, path: Path, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.where = TomlLocator(text)
        self.environ = environ
        self.secrets: set[str] = set()

    def error(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, path=str(self.path), line=self.where.line_of(key), key=key)

    def load(self, data: Mapping[str, Any]) -> Config:
        for name, body in data.items():
            if name not in _SECTIONS:
                raise self.error(f"unknown section [{name}]; known: {', '.join(_SECTIONS)}", name)
            known = _SECTIONS[name]
            if not isinstance(body, Mapping):
                raise self.error(f"{name} must be a table: [{name}]", name)
            for key in body:
                if known is not None and key not in known:
                    raise self.error(
                        f"unknown key {key!r} in [{name}]; known: {', '.join(sorted(known))}",
                        f"{name}.{key}",
                    )
        for needed in ("crm", "erp"):
            if needed not in data:
                raise self.error(f'missing section [{needed}] (with adapter = "...")', needed)
        sync = data.get("sync", {})
        link, review = self._bands(data.get("match", {}))
        rules, rules_path = self._rules(data.get("rules", {}))
        return Config(
            path=self.path,
            state_url=self._state_url(data.get("state", {})),
            crm=self._system("crm", data["crm"]),
            erp=self._system("erp", data["erp"]),
            rules=rules,
            rules_path=rules_path,
            scope=self._text(sync, "sync", "scope", "default"),
            batch_size=self._batch_size(sync),
            matcher=self._matcher(sync),
            match_link=link,
            match_review=review,
            secrets=frozenset(self.secrets),
            locator=self.where,
        )

    # --- sections -----------------------------------------------------------------------

    def _state_url(self, state: Mapping[str, Any]) -> str:
        url = self._url(self._text(state, "state", "url", "sqlite:///crmerp.db"))
        password = _URL_PASSWORD.search(url)
        if password:
            self.secrets.add(password.group(1))
        if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise self.error("url must start with sqlite:/// or postgresql://", "state.url")
        if url.startswith("sqlite:///"):
            file = url.removeprefix("sqlite:///")
            if file and file != ":memory:" and not Path(file).is_absolute():
                url = f"sqlite:///{self.path.parent / file}"
        return url

    def _url(self, template: str) -> str:
        """``state.url`` expanded; values put in its user and password part are
        percent-encoded, so a password with ``@``, ``/`` or ``:`` stays a password."""
        scheme, found, rest = template.partition("://")
        authority, slash, path = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if not (found and at):
            return self._expand(template, "state.url")
        return (
            f"{scheme}://{self._expand(userinfo, 'state.url', encode=True)}@"
            f"{self._expand(host + slash + path, 'state.url')}"
        )

    def _system(self, role: str, body: Mapping[str, Any]) -> SystemConfig:
        from crmerp.adapters import available_adapters

        name = body.get("adapter")
        if not isinstance(name, str) or not name:
            raise self.error(
                f'[{role}] needs adapter = "<name>"; available: {", ".join(available_adapters())}',
                f"{role}.adapter",
            )
        if ":" not in name and name not in available_adapters():
            raise self.error(
                f"no adapter named {name!r}; available: "
                f"{', '.join(available_adapters()) or 'none'}",
                f"{role}.adapter",
            )
        raw = body.get("settings", {})
        if not isinstance(raw, Mapping):
            raise self.error(f"{role}.settings must be a table", f"{role}.settings")
        settings: dict[str, Any] = {}
        secret_keys = set()
        for key, value in raw.items():
            expanded = self._expand_any(value, f"{role}.settings.{key}")
            if expanded != value or _SECRET_NAME.search(key):
                secret_keys.add(key)
                if isinstance(expanded, str) and expanded:
                    self.secrets.add(expanded)
            settings[key] = expanded
        instance = body.get("instance")
        if instance is not None and (not isinstance(instance, str) or not instance.strip()):
            raise self.error(f"{role}.instance must be a non-empty string", f"{role}.instance")
        return SystemConfig(role, name, settings, frozenset(secret_keys), instance)

    def _rules(self, body: Mapping[str, Any]) -> tuple[Rules, Path | None]:
        inline = {k: v for k, v in body.items() if k != "path"}
        if "path" not in body:
            return self._inline_rules(inline), None
        if inline:
            first = next(iter(inline))
            raise self.error(
                "give rules either as path = ... or inline, not both", f"rules.{first}"
            )
        value = body["path"]
        if not isinstance(value, str) or not value:
            raise self.error("rules.path must be a file name", "rules.path")
        file = Path(value) if Path(value).is_absolute() else self.path.parent / value
        if not file.is_file():
            raise self.error(f"rules file {value!r} not found (looked at {file})", "rules.path")
        return _rules_file(file), file

    def _inline_rules(self, body: Mapping[str, Any]) -> Rules:
        from crmerp.sync import Rules

        try:
            return Rules.from_dict(body)
        except ConfigError as exc:
            key = f"rules.{exc.key}" if exc.key else "rules"
            raise self.error(_message(exc), key) from None
        except UsageError as exc:
            raise self.error(_plain(exc), "rules") from None

    def _batch_size(self, sync: Mapping[str, Any]) -> int:
        value = sync.get("batch_size", 500)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(
                f"batch_size must be a whole number of at least 1, not {value!r}", "sync.batch_size"
            )
        return value

    def _matcher(self, sync: Mapping[str, Any]) -> str:
        value = self._text(sync, "sync", "matcher", "probabilistic")
        if value not in MATCHERS:
            raise self.error(
                f"matcher must be one of {', '.join(MATCHERS)}, not {value!r}", "sync.matcher"
            )
        return value

    def _bands(self, match: Mapping[str, Any]) -> tuple[float, float]:
        link = self._probability(match, "link", LINK)
        review = self._probability(match, "review", REVIEW)
        if review > link:
            raise self.error(
                f"review ({review}) must not be above link ({link}): pairs between the two "
                "go to review",
                "match.review",
            )
        return link, review

    def _probability(self, match: Mapping[str, Any], key: str, default: float) -> float:
        value = match.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise self.error(
                f"{key} must be a probability above 0 and below 1, such as {default}, "
                f"not {value!r}",
                f"match.{key}",
            )
        return float(value)

    # --- values -------------------------------------------------------------------------

    def _text(self, body: Mapping[str, Any], section: str, key: str, default: str) -> str:
        value = body.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.error(f"{key} must be a non-empty string, not {value!r}", f"{section}.{key}")
        return value

    def _expand_any(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            return self._expand(value, key)
        if isinstance(value, list):
            return [self._expand_any(v, key) for v in value]
        if isinstance(value, Mapping):
            return {k: self._expand_any(v, f"{key}.{k}") for k, v in value.items()}
        return value

    def _expand(self, value: str, key: str, *, encode: bool = False) -> str:
        def replace(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in self.environ:
                raise self.error(f"environment variable {name} is not set", key)
            secret = self.environ[name]
            shown = quote(secret, safe="") if encode else secret
            if secret:
                self.secrets.update({secret, shown})
            return shown

        return _VARIABLE.sub(replace, value)


def _rules_file(file: Path) -> Rules:
    """Rules from their own file; errors re-pointed with the precise key locator."""
    from crmerp.sync import Rules

    text = file.read_text(encoding="utf-8")
    try:
        return Rules.from_toml_text(text, path=str(file))
    except ConfigError as exc:
        if exc.key is None:
            raise
        line = TomlLocator(text).line_of(exc.key) or exc.line
        raise ConfigError(_message(exc), path=str(file), line=line, key=exc.key) from None


def _message(exc: ConfigError) -> str:
    """The bare message of a :class:`~crmerp.ConfigError`, without where and code."""
    text = _plain(exc)
    where = ":".join(str(p) for p in (exc.path, exc.line) if p is not None)
    if where:
        text = text.removeprefix(f"{where}: ")
    if exc.key:
        text = text.removesuffix(f" (key {exc.key!r})")
    return text
