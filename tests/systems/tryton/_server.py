"""Run a real Tryton 8.2 server (``trytond``) for the live adapter tests.

* :func:`probe` checks that the Tryton interpreter (``$CRMERP_TRYTON_PYTHON``,
  default: the test interpreter) can import trytond 8.2, proteus and every module
  in :data:`MODULES`, and returns their versions.
* :func:`ensure_template` builds a SQLite template database once and caches it:
  ``trytond-admin -u <modules> --activate-dependencies`` (about 20 s), then
  ``_build_template.py`` through proteus (about 3 s): company in EUR, chart of
  accounts, fiscal years with sequences, tax, accounting category, payment term
  and a price list. The file and the ids it made (``refs``) are cached under
  ``$CRMERP_CACHE/tryton/<key>/`` (default ``~/.cache/crmerp``), keyed by a hash
  of the versions, the module list, the build scripts and the current year.
  A file lock makes parallel test processes wait for one builder.
* :func:`start_server` copies the template into a fresh directory, writes a
  config file, starts ``trytond -c CONF -d DB`` (through ``_launch_trytond.py``)
  on a free 127.0.0.1 port and polls ``common.server.version`` until it answers
  or :data:`START_TIMEOUT_S` passes. :meth:`TrytonServer.stop` ends it.

Everything runs in subprocesses: trytond's configuration and pool are
process-global and must never be loaded into the pytest process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

TRYTON_SERIES = "8.2"
#: Modules activated in the template (their dependencies are activated too).
MODULES = (
    "party",
    "product",
    "company",
    "currency",
    "account",
    "account_invoice",
    "sale",
    "sale_price_list",
    "sale_opportunity",
)
DATABASE = "crmerp"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "crmerp-admin-secret"

#: How long :func:`start_server` waits for the first good answer.
START_TIMEOUT_S = float(os.environ.get("CRMERP_TRYTON_START_TIMEOUT", "60"))
#: Bound for the one-off template build.
TEMPLATE_TIMEOUT_S = 600.0
#: How long :meth:`TrytonServer.stop` waits after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 10.0

_HERE = Path(__file__).resolve().parent
_BUILD_SCRIPT = _HERE / "_build_template.py"
_LAUNCHER = _HERE / "_launch_trytond.py"

_PROBE = """
import json, importlib, importlib.metadata as md
mods = %r
for m in ("trytond", "proteus") + tuple("trytond.modules." + m for m in mods):
    importlib.import_module(m)
dists = {d.metadata["Name"].lower().replace("_", "-"): d.version
         for d in md.distributions()
         if (d.metadata["Name"] or "").lower().replace("_", "-").startswith(("trytond", "proteus"))}
print(json.dumps(dists, sort_keys=True))
"""


class TrytonUnavailable(RuntimeError):
    """Tryton cannot be run here (not installed, wrong series, a module missing)."""


class TrytonStartError(RuntimeError):
    """The template build or the server failed; the message holds the log tail."""


def tryton_python() -> str:
    """The interpreter that runs trytond: ``$CRMERP_TRYTON_PYTHON`` or this one."""
    return os.environ.get("CRMERP_TRYTON_PYTHON") or sys.executable


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without inherited ``TRYTOND_*`` overrides, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}
    env.pop("TRYTONPASSFILE", None)
    env.update(extra)
    return env


def probe() -> dict[str, str]:
    """Versions of trytond, proteus and the trytond-* modules in :func:`tryton_python`.

    Raises :class:`TrytonUnavailable` with the reason when something is missing.
    """
    try:
        proc = subprocess.run(
            [tryton_python(), "-c", _PROBE % (MODULES,)],
            capture_output=True,
            text=True,
            timeout=120,
            env=_clean_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrytonUnavailable(f"cannot run {tryton_python()}: {exc}") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise TrytonUnavailable(
            f"trytond {TRYTON_SERIES} with modules {', '.join(MODULES)} is not importable "
            f"by {tryton_python()}: {last} (the install command is in "
            f"docs/systems/tryton-notes.md)"
        )
    versions: dict[str, str] = json.loads(proc.stdout)
    series = ".".join(versions.get("trytond", "").split(".")[:2])
    if series != TRYTON_SERIES:
        raise TrytonUnavailable(
            f"trytond {versions.get('trytond')} found, the tests need {TRYTON_SERIES}.*"
        )
    return versions


def cache_root() -> Path:
    """``$CRMERP_CACHE/tryton``, default ``~/.cache/crmerp/tryton``."""
    base = os.environ.get("CRMERP_CACHE") or str(Path.home() / ".cache" / "crmerp")
    return Path(base) / "tryton"


def template_key(versions: dict[str, str]) -> str:
    """Hash of everything that shapes the template."""
    digest = hashlib.sha256()
    digest.update(json.dumps(versions, sort_keys=True).encode())
    digest.update(json.dumps([MODULES, DATABASE, ADMIN_LOGIN, ADMIN_PASSWORD]).encode())
    digest.update(_BUILD_SCRIPT.read_bytes())
    # Fiscal years are made for last, this and next year: rebuild each new year.
    digest.update(str(time.localtime().tm_year).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_config(path: Path, db_dir: Path, port: int) -> None:
    path.write_text(
        "\n".join(
            [
                "[database]",
                "uri = sqlite://",
                f"path = {db_dir}",
                "list = False",
                "[web]",
                f"listen = 127.0.0.1:{port}",
                "[session]",
                # Inactivity timeout of a session, in seconds (default 300).
                "timeout = 3600",
                "",
            ]
        ),
        encoding="utf-8",
    )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Template:
    """A cached, ready-to-copy template database."""

    sqlite_path: Path
    refs: dict[str, Any]
    #: Seconds the build took (``None`` when it came from the cache).
    build_seconds: float | None


def ensure_template(versions: dict[str, str] | None = None) -> Template:
    """Return the cached template, building it first if needed."""
    versions = versions if versions is not None else probe()
    root = cache_root()
    final = root / template_key(versions)
    with _file_lock(root / ".lock"):
        if (final / "refs.json").is_file() and (final / f"{DATABASE}.sqlite").is_file():
            refs = json.loads((final / "refs.json").read_text(encoding="utf-8"))
            return Template(final / f"{DATABASE}.sqlite", refs, None)
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
        try:
            _build_into(work)
            if final.exists():
                shutil.rmtree(final)
            work.rename(final)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        elapsed = time.monotonic() - started
        refs = json.loads((final / "refs.json").read_text(encoding="utf-8"))
        return Template(final / f"{DATABASE}.sqlite", refs, elapsed)


def _run_logged(cmd: list[str], log: Path, *, env: dict[str, str], stdin: str = "") -> None:
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        try:
            proc = subprocess.run(
                cmd,
                input=stdin,
                stdout=fh,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                timeout=TEMPLATE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TrytonStartError(f"timed out: {cmd}\n{_tail(log)}") from exc
    if proc.returncode != 0:
        raise TrytonStartError(f"failed ({proc.returncode}): {cmd}\n{_tail(log)}")


def _build_into(work: Path) -> None:
    """Create ``<work>/<DATABASE>.sqlite`` and ``<work>/refs.json``."""
    config = work / "trytond.conf"
    _write_config(config, work, 8000)  # the port is not used by trytond-admin
    (work / f"{DATABASE}.sqlite").touch()  # the SQLite backend opens, never creates
    passfile = work / "admin-password"
    passfile.write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
    log = work / "build.log"
    python = tryton_python()
    # trytond-admin asks for the admin e-mail on stdin when it initialises a
    # database; the empty line answers "none". (--email would be checked for
    # deliverability through DNS, which test machines may not have.)
    _run_logged(
        [python, "-m", "trytond.cli.admin", "-c", str(config), "-d", DATABASE,
         "-u", *MODULES, "--activate-dependencies"],
        log,
        env=_clean_env(TRYTONPASSFILE=str(passfile)),
        stdin="\n",
    )  # fmt: skip
    _run_logged(
        [python, str(_BUILD_SCRIPT), str(config), DATABASE, str(work / "refs.json")],
        log,
        env=_clean_env(),
    )
    # Fold the write-ahead log into the main file so one file is the template.
    import sqlite3

    conn = sqlite3.connect(work / f"{DATABASE}.sqlite")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        (work / f"{DATABASE}.sqlite{suffix}").unlink(missing_ok=True)
    passfile.unlink()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class TrytonServer:
    """A running trytond: what the tests need to connect, and how to stop it."""

    url: str
    database: str
    username: str
    password: str
    #: Ids made by the template build (company, price_list, payment_term, ...).
    refs: dict[str, Any]
    workdir: Path
    log_path: Path
    #: Seconds from process start to the first good answer.
    start_seconds: float = 0.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL) and close its log."""
        proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=STOP_TIMEOUT_S)
            else:
                proc.wait()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` of the server's output."""
        return _tail(self.log_path, lines)


def _wait_ready(server: TrytonServer, deadline: float) -> None:
    body = {"id": 0, "method": "common.server.version", "params": []}
    with httpx.Client(timeout=2.0) as client:
        while True:
            proc = server.process
            if proc is not None and proc.poll() is not None:
                raise TrytonStartError(
                    f"trytond exited with {proc.returncode}:\n{server.log_tail()}"
                )
            try:
                response = client.post(f"{server.url}/rpc/", json=body)
                if response.status_code == 200 and response.json().get("result"):
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TrytonStartError(
                    f"trytond did not answer within {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.05)


def start_server(workdir: Path, template: Template, *, attempts: int = 3) -> TrytonServer:
    """Copy the template into ``workdir`` and start trytond on it.

    Retries on a new port if the process dies at start (e.g. the port was taken
    between choosing and binding it).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_dir = workdir / "db"
    db_dir.mkdir(exist_ok=True)
    shutil.copyfile(template.sqlite_path, db_dir / f"{DATABASE}.sqlite")
    last_error: TrytonStartError | None = None
    for attempt in range(1, attempts + 1):
        port = _free_port()
        config = workdir / "trytond.conf"
        _write_config(config, db_dir, port)
        log_path = workdir / f"trytond-{attempt}.log"
        log_handle = log_path.open("wb")
        started = time.monotonic()
        process = subprocess.Popen(
            [tryton_python(), str(_LAUNCHER), "-c", str(config), "-d", DATABASE],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            env=_clean_env(),
            cwd=workdir,
        )
        server = TrytonServer(
            url=f"http://127.0.0.1:{port}",
            database=DATABASE,
            username=ADMIN_LOGIN,
            password=ADMIN_PASSWORD,
            refs=dict(template.refs),
            workdir=workdir,
            log_path=log_path,
            process=process,
            _log_handle=log_handle,
        )
        try:
            _wait_ready(server, started + START_TIMEOUT_S)
        except TrytonStartError as exc:
            server.stop()
            last_error = exc
            if "Address already in use" in server.log_tail():
                continue
            raise
        except BaseException:
            server.stop()
            raise
        server.start_seconds = time.monotonic() - started
        return server
    assert last_error is not None
    raise last_error
