"""Run a real BottleCRM (PyPI ``django-crm``) server for the live adapter tests.

BottleCRM needs Python >= 3.12 while crmerp supports 3.11, so the server never
runs in the test interpreter. It gets its own virtualenv, built once and cached,
and runs as a subprocess:

* :func:`ensure_venv` finds a Python 3.12+ and builds
  ``<cache>/venv-django-crm-<version>`` with ``pip install django-crm==<version>``
  (about 30-60 s with a warm pip cache).
* :func:`ensure_template` runs the 253 migrations into a SQLite file once
  (about 80 s) and adds a user, an org, an ADMIN profile of that user in the org
  and a personal access token. The file and its credentials are cached, keyed by
  a hash of everything that shapes them.
* :func:`start_server` copies the template into a fresh directory, starts
  gunicorn on a socket this process already bound (so there is no free-port
  race), and polls the API until it answers or a deadline passes.

The cache lives in ``$CRMERP_CACHE/bottlecrm`` (default ``~/.cache/crmerp``).
Build steps hold a file lock, so parallel test processes wait for one builder.

The server is configured by a settings module written next to the venv: SQLite
instead of PostgreSQL (no row-level security, which is PostgreSQL-only), an
in-memory Celery broker (queued tasks never run: no Redis needed), console
e-mail, no log files in the working directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DJANGO_CRM_VERSION = "1.35.0"
MIN_PYTHON = (3, 12)
SETTINGS_MODULE = "crmerp_bottlecrm_settings"

#: How long :func:`start_server` waits for the first good answer.
START_TIMEOUT_S = float(os.environ.get("CRMERP_BOTTLECRM_START_TIMEOUT", "90"))
#: Bounds for the one-off builds (pip install, migrations).
PIP_TIMEOUT_S = 900.0
TEMPLATE_TIMEOUT_S = 900.0

USER_EMAIL = "crmerp-admin@example.com"
ORG_NAME = "crmerp test org"
TOKEN_NAME = "crmerp tests"

SETTINGS_SOURCE = '''\
"""crmerp's settings for a throwaway BottleCRM server (written by _server.py)."""

import os
import tempfile

from crm.settings import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CRMERP_BOTTLECRM_DB"],
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}

CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
MEDIA_ROOT = os.environ.get("CRMERP_BOTTLECRM_MEDIA") or tempfile.mkdtemp(
    prefix="bottlecrm-media-"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
'''

# Run inside the server venv with the settings above. Prints one JSON line.
BOOTSTRAP_SOURCE = """\
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from common.models import Org, PersonalAccessToken, Profile, User
user = User.objects.create_user(email=sys.argv[1], password=None)
org = Org.objects.create(name=sys.argv[2])
profile = Profile.objects.create(
    user=user, org=org, role="ADMIN", has_sales_access=True,
    has_marketing_access=True, is_active=True,
)
raw, _pat = PersonalAccessToken.generate(profile, sys.argv[3])
print(json.dumps({"token": raw, "org_id": str(org.id), "profile_id": str(profile.id),
                  "user_email": user.email}))
"""


class BottleCRMUnavailable(Exception):
    """The server cannot be provided on this machine (no Python >= 3.12, install failed).

    The fixture turns this into a skip (a failure under ``CRMERP_REQUIRE_LIVE=1``).
    """


class BottleCRMStartError(RuntimeError):
    """The server was installed but the template build or the start failed.

    Not a skip: this points at our settings, the bootstrap or a broken release.
    """


@dataclass(frozen=True)
class BottleCRMServer:
    """A running BottleCRM server, as handed to the tests.

    ``token`` is a personal access token (``bcrm_pat_...``) of an ADMIN profile;
    it carries its org, so no ``org`` header is needed (``org_id`` is for
    information and assertions).
    """

    base_url: str
    token: str
    org_id: str
    profile_id: str
    user_email: str
    log_path: Path
    timings: dict[str, float] = field(default_factory=dict)

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the server's combined output."""
        return _tail(self.log_path, lines)


# --------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """``$CRMERP_CACHE/bottlecrm``, default ``~/.cache/crmerp/bottlecrm``."""
    root = os.environ.get("CRMERP_CACHE") or str(Path.home() / ".cache" / "crmerp")
    path = Path(root).expanduser() / "bottlecrm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv_dir() -> Path:
    """The cached server virtualenv for :data:`DJANGO_CRM_VERSION`."""
    return cache_dir() / f"venv-django-crm-{DJANGO_CRM_VERSION}"


def venv_python() -> Path:
    """The server virtualenv's interpreter."""
    return venv_dir() / "bin" / "python"


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock file in the cache dir (waits for other builders)."""
    with (cache_dir() / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -------------------------------------------------------------------- python


def _python_version(exe: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python() -> str:
    """Find an interpreter that is Python >= 3.12.

    Looks at ``$CRMERP_BOTTLECRM_PYTHON``, the running interpreter, ``python3.12``
    and ``python3.13`` on ``PATH``, then pyenv's versions directory.
    """
    candidates: list[str] = []
    explicit = os.environ.get("CRMERP_BOTTLECRM_PYTHON")
    if explicit:
        candidates.append(explicit)
    candidates.append(sys.executable)
    for name in ("python3.12", "python3.13"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for version_dir in sorted((pyenv_root / "versions").glob("3.1[2-9]*")):
        candidates.append(str(version_dir / "bin" / "python3"))
    for exe in candidates:
        version = _python_version(exe)
        if version is not None and version >= MIN_PYTHON:
            return exe
    raise BottleCRMUnavailable(
        "BottleCRM (django-crm) needs Python >= 3.12 and none was found "
        "(set CRMERP_BOTTLECRM_PYTHON, put python3.12 on PATH, or install it with pyenv)"
    )


# ---------------------------------------------------------------------- venv


def _write_settings() -> Path:
    """Write the settings module into the cache (only when its text changed)."""
    directory = cache_dir() / "settings"
    directory.mkdir(exist_ok=True)
    path = directory / f"{SETTINGS_MODULE}.py"
    if not path.exists() or path.read_text() != SETTINGS_SOURCE:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(SETTINGS_SOURCE)
        tmp.replace(path)
    return directory


def ensure_venv() -> tuple[Path, float]:
    """Build the server virtualenv unless a complete one is cached.

    Returns the interpreter and the seconds spent building (0.0 when cached).
    A venv counts as complete only once ``.crmerp-ready`` is written after a
    successful install and import check; anything else is rebuilt from scratch.
    """
    marker = venv_dir() / ".crmerp-ready"
    if marker.exists():
        return venv_python(), 0.0
    with _locked("venv"):
        if marker.exists():
            return venv_python(), 0.0
        started = time.monotonic()
        python = find_python()
        shutil.rmtree(venv_dir(), ignore_errors=True)
        log = cache_dir() / "venv-build.log"
        steps = [
            [python, "-m", "venv", str(venv_dir())],
            [
                str(venv_python()),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                f"django-crm=={DJANGO_CRM_VERSION}",
            ],
            [str(venv_python()), "-c", "import crm.settings, django, gunicorn"],
        ]
        with log.open("w") as out:
            for cmd in steps:
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                try:
                    proc = subprocess.run(
                        cmd,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        timeout=PIP_TIMEOUT_S,
                        check=False,
                        cwd=cache_dir(),
                    )
                except subprocess.TimeoutExpired:
                    raise BottleCRMUnavailable(
                        f"building the BottleCRM venv timed out at {cmd[:3]}; see {log}"
                    ) from None
                if proc.returncode != 0:
                    raise BottleCRMUnavailable(
                        f"building the BottleCRM venv failed (exit {proc.returncode}) at "
                        f"{' '.join(cmd[:4])}; see {log}:\n{_tail(log, 25)}"
                    )
        marker.write_text(f"django-crm=={DJANGO_CRM_VERSION}\n")
        return venv_python(), time.monotonic() - started


# ------------------------------------------------------------------ template


def _server_env(db_path: Path, work_dir: Path) -> dict[str, str]:
    """Environment for any process running BottleCRM code."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV", "CELERY_", "DB"))
    }
    env.update(
        {
            "PYTHONPATH": str(cache_dir() / "settings"),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "CRMERP_BOTTLECRM_DB": str(db_path),
            "CRMERP_BOTTLECRM_MEDIA": str(work_dir / "media"),
            # Dev mode: no S3, no Sentry, no URL sanity checks. 48 bytes so the
            # JWT signing key check stays quiet.
            "ENV_TYPE": "dev",
            "SECRET_KEY": "crmerp-tests-" + "k" * 48,
            "DEBUG": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _template_key() -> str:
    digest = hashlib.sha256()
    for part in (DJANGO_CRM_VERSION, SETTINGS_SOURCE, BOOTSTRAP_SOURCE, USER_EMAIL, ORG_NAME):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def ensure_template(python: Path) -> tuple[Path, dict[str, str], float]:
    """Build the migrated, seeded template database unless it is cached.

    Returns ``(db_path, credentials, seconds_spent)``; ``credentials`` holds
    ``token``, ``org_id``, ``profile_id`` and ``user_email``.
    """
    _write_settings()
    key = _template_key()
    db_path = cache_dir() / f"template-{key}.sqlite3"
    meta_path = cache_dir() / f"template-{key}.json"
    if db_path.exists() and meta_path.exists():
        return db_path, json.loads(meta_path.read_text()), 0.0
    with _locked("template"):
        if db_path.exists() and meta_path.exists():
            return db_path, json.loads(meta_path.read_text()), 0.0
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="bottlecrm-build-") as tmp:
            work = Path(tmp)
            build_db = work / "template.sqlite3"
            log = cache_dir() / "template-build.log"
            try:
                proc = subprocess.run(
                    [str(python), "-c", BOOTSTRAP_SOURCE, USER_EMAIL, ORG_NAME, TOKEN_NAME],
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                    env=_server_env(build_db, work),
                    cwd=work,
                    timeout=TEMPLATE_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise BottleCRMStartError(
                    f"migrating the BottleCRM template database took over {TEMPLATE_TIMEOUT_S} s"
                ) from None
            log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
            if proc.returncode != 0:
                raise BottleCRMStartError(
                    f"building the BottleCRM template database failed (exit {proc.returncode});"
                    f" see {log}:\n{proc.stderr[-3000:]}"
                )
            credentials = json.loads(proc.stdout.strip().splitlines()[-1])
            # Old templates of other keys are dead weight; drop them.
            for stale in cache_dir().glob("template-*.*"):
                if stale.suffix in (".sqlite3", ".json") and key not in stale.name:
                    stale.unlink(missing_ok=True)
            tmp_db = db_path.with_suffix(".partial")
            shutil.copyfile(build_db, tmp_db)
            tmp_db.replace(db_path)
            meta_path.write_text(json.dumps(credentials))
        return db_path, credentials, time.monotonic() - started


# -------------------------------------------------------------------- server


@dataclass
class _Running:
    server: BottleCRMServer
    process: subprocess.Popen[bytes]
    work_dir: Path


def _wait_until_ready(running: _Running, deadline: float) -> None:
    server = running.server
    url = f"{server.base_url}/api/accounts/"
    headers = {"Authorization": f"Bearer {server.token}"}
    last = "no answer yet"
    with httpx.Client(timeout=5.0) as client:
        while True:
            code = running.process.poll()
            if code is not None:
                raise BottleCRMStartError(
                    f"BottleCRM server exited with {code} before answering:\n{server.log_tail()}"
                )
            try:
                response = client.get(url, headers=headers)
            except httpx.HTTPError as exc:
                last = repr(exc)
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            if time.monotonic() >= deadline:
                raise BottleCRMStartError(
                    f"BottleCRM server not ready after {START_TIMEOUT_S:.0f} s ({last});"
                    f" log:\n{server.log_tail()}"
                )
            time.sleep(0.2)


def start_server() -> _Running:
    """Ensure venv and template, copy the template, start gunicorn, wait for it."""
    timings: dict[str, float] = {}
    python, timings["venv_build_s"] = ensure_venv()
    template, credentials, timings["template_build_s"] = ensure_template(python)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bottlecrm-run-"))
    db_path = work / "db.sqlite3"
    shutil.copyfile(template, db_path)
    (work / "media").mkdir()
    log_path = work / "server.log"

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        fd = listener.fileno()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(python),
                    "-m",
                    "gunicorn",
                    "crm.wsgi:application",
                    "--bind",
                    f"fd://{fd}",
                    # One synchronous worker: SQLite wants one writer, and the
                    # tests do not need parallel requests.
                    "--workers",
                    "1",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    "5",
                    "--access-logfile",
                    "-",
                    "--error-logfile",
                    "-",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=_server_env(db_path, work),
                cwd=work,
                pass_fds=(fd,),
                start_new_session=True,
            )
    finally:
        # The child holds its own copy of the listening socket.
        listener.close()
    server = BottleCRMServer(
        base_url=f"http://127.0.0.1:{port}",
        token=credentials["token"],
        org_id=credentials["org_id"],
        profile_id=credentials["profile_id"],
        user_email=credentials["user_email"],
        log_path=log_path,
        timings=timings,
    )
    running = _Running(server=server, process=process, work_dir=work)
    try:
        _wait_until_ready(running, time.monotonic() + START_TIMEOUT_S)
    except BaseException:
        stop_server(running, keep_dir=True)
        raise
    timings["server_start_s"] = time.monotonic() - started
    return running


def stop_server(running: _Running, *, keep_dir: bool = False) -> None:
    """Stop the server (TERM, then KILL after 10 s) and remove its directory."""
    process = running.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if not keep_dir:
        shutil.rmtree(running.work_dir, ignore_errors=True)


@contextlib.contextmanager
def running_server() -> Iterator[BottleCRMServer]:
    """Context manager form: a ready :class:`BottleCRMServer`, stopped on exit."""
    running = start_server()
    try:
        yield running.server
    finally:
        stop_server(running)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover - manual use: print timings, serve until signalled
    # SIGINT may be ignored in a background job, so SIGTERM stops it cleanly too.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with running_server() as srv, contextlib.suppress(KeyboardInterrupt):
        print(json.dumps({"base_url": srv.base_url, "token": srv.token, **srv.timings}), flush=True)
        signal.pause()
