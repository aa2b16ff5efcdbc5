"""Real PostgreSQL, Redis, Prometheus and BigQuery-emulator servers for a test session.

Each ``start_*`` context manager starts one server on a loopback port inside
a fresh temporary directory and stops it on exit. The directory (logs
included) is deleted when the block exits normally and kept when it exits
with an exception, so a failing run can be investigated; startup errors name
the log file.

The drivers (psycopg2, redis, google-cloud-bigquery, bqemulator) are imported
inside the functions so that this module imports without them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud import bigquery

LOOPBACK = "127.0.0.1"

PG_SUPERUSER = "postgres"
PG_DATABASE = "portside"
PG_APP_ROLE = "portside_app"
PG_APP_PASSWORD = "portside_app"
PG_STARTUP_TIMEOUT = 60.0
REDIS_STARTUP_TIMEOUT = 30.0
PROMETHEUS_STARTUP_TIMEOUT = 60.0

# Database names are interpolated into URLs and DSNs; restricting them to
# plain identifiers means neither needs quoting.
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


# The name is the agreed public API (callers skip tests on it), hence no Error suffix.
class ServerUnavailable(RuntimeError):  # noqa: N818
    """The server software is not installed on this machine."""


class ServerStartError(RuntimeError):
    """The server is installed but did not start; the message names its log."""


def free_port() -> int:
    """Return a loopback TCP port that the OS reported as free.

    The probe socket is closed before the server binds, so another process
    could take the port in between; that race is acceptable for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log_path: Path, lines: int = 20) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _start_error(what: str, log_path: Path) -> ServerStartError:
    return ServerStartError(f"{what}; log: {log_path}\n{_log_tail(log_path)}")


def _wait_until_ready(
    name: str,
    probe: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    timeout: float,
    log_path: Path,
) -> None:
    """Poll ``probe`` until it succeeds, failing fast if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        returncode = proc.poll()
        if returncode is not None:
            raise _start_error(f"{name} exited with code {returncode} during startup", log_path)
        if probe():
            return
        if time.monotonic() > deadline:
            raise _start_error(f"{name} did not accept connections within {timeout:.0f}s", log_path)
        time.sleep(0.1)


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def _session_dir(prefix: str, base_dir: Path | None, what: str) -> Iterator[Path]:
    """Yield a fresh temp dir; delete it on success, keep it on failure."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir))
    try:
        yield root
    except BaseException as exc:
        exc.add_note(f"{what} files kept in {root}")
        raise
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    database: str

    @property
    def admin_url(self) -> str:
        return self._url(PG_SUPERUSER, self.database)

    @property
    def app_url(self) -> str:
        return self._url(f"{PG_APP_ROLE}:{PG_APP_PASSWORD}", self.database)

    @property
    def dsn_admin(self) -> str:
        return self._dsn_admin(self.database)

    @property
    def dsn_app(self) -> str:
        return f"{self._dsn(self.database)} user={PG_APP_ROLE} password={PG_APP_PASSWORD}"

    def create_database(self, name: str) -> tuple[str, str]:
        """Create database ``name`` owned by postgres and usable by the app role.

        Returns ``(admin_url, app_url)`` for it. Like the default database,
        the app role gets CONNECT and USAGE on schema public only; table
        privileges are for the caller to grant.
        """
        import psycopg2
        from psycopg2 import sql

        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name must match {_DB_NAME.pattern}: {name!r}")
        db = sql.Identifier(name)
        app = sql.Identifier(PG_APP_ROLE)
        with closing(psycopg2.connect(self._dsn_admin("postgres"))) as conn:
            # CREATE DATABASE cannot run inside a transaction block.
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER postgres").format(db))
                cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, app))
        with closing(psycopg2.connect(self._dsn_admin(name))) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app))
        return self._url(PG_SUPERUSER, name), self._url(f"{PG_APP_ROLE}:{PG_APP_PASSWORD}", name)

    def _url(self, credentials: str, database: str) -> str:
        return f"postgresql+psycopg2://{credentials}@{self.host}:{self.port}/{database}"

    def _dsn(self, database: str) -> str:
        return f"host={self.host} port={self.port} dbname={database}"

    def _dsn_admin(self, database: str) -> str:
        return f"{self._dsn(database)} user={PG_SUPERUSER}"


def _has_pg_binaries(bindir: Path) -> bool:
    return all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def _pg_version_key(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: compare versions numerically (16 > 9.6).
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_pg_bindir() -> Path:
    """Locate the PostgreSQL server binaries (initdb, pg_ctl, postgres)."""
    env_dir = os.environ.get("PORTSIDE_PG_BINDIR")
    if env_dir:
        # An explicit setting that is wrong should fail, not fall back silently.
        if not _has_pg_binaries(Path(env_dir)):
            raise ServerUnavailable(
                f"PORTSIDE_PG_BINDIR={env_dir} does not contain initdb, pg_ctl and postgres"
            )
        return Path(env_dir)
    debian_dirs = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_pg_binaries(d)]
    if debian_dirs:
        return max(debian_dirs, key=_pg_version_key)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and _has_pg_binaries(bindir):
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        # Resolve symlinks such as /usr/local/bin/initdb to the real bin dir.
        bindir = Path(initdb).resolve().parent
        if _has_pg_binaries(bindir):
            return bindir
    raise ServerUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; "
        "install them with `apt-get install postgresql-15` "
        "or point PORTSIDE_PG_BINDIR at their directory"
    )


@dataclass(frozen=True)
class _PgUser:
    """Who runs the PostgreSQL binaries; ``uid is None`` means ourselves."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def for_current_process(cls) -> _PgUser:
        # initdb and postgres refuse to run as root, so root hands them over
        # to the `postgres` system user.
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable(
                "running as root but there is no `postgres` system user to run "
                "PostgreSQL as; `apt-get install postgresql-15` creates it"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    def make_dir(self, path: Path) -> Path:
        path.mkdir(mode=0o700)
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)
        return path

    def check_traversable(self, path: Path) -> None:
        """Fail early, naming the culprit, if this user cannot reach ``path``."""
        if self.uid is None or self.gid is None:
            return
        name = pwd.getpwuid(self.uid).pw_name
        gids = set(os.getgrouplist(name, self.gid))
        for directory in [*reversed(path.parents), path]:
            st = directory.stat()
            if st.st_uid == self.uid:
                bit = stat.S_IXUSR
            elif st.st_gid in gids:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if not st.st_mode & bit:
                raise ServerStartError(
                    f"user {name!r} cannot traverse {directory} (needed to reach {path}); "
                    f"use a base_dir whose parents are world-traversable (chmod o+x)"
                )

    def run(self, args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                # cwd must be reachable by the postgres user (root's cwd may not be).
                cwd=cwd,
                user=self.uid,
                group=self.gid,
                # Drop root's supplementary groups along with its uid.
                extra_groups=None if self.uid is None else [],
            )


def _pg_accepts_connections(dsn: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(dsn, connect_timeout=2).close()
    except psycopg2.OperationalError:
        return False
    return True


@contextmanager
def start_postgres(base_dir: Path | None = None) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL cluster with database ``portside``.

    The cluster trusts every local connection; the ``portside_app`` role
    is a plain login role (no superuser, no BYPASSRLS) so tests see the
    same privilege checks and row-level security as production.
    """
    bindir = find_pg_bindir()
    owner = _PgUser.for_current_process()
    with _session_dir("portside-pg-", base_dir, "postgres") as root:
        # mkdtemp creates 0700; the postgres user must be able to enter it.
        root.chmod(0o755)
        owner.check_traversable(root)
        data_dir = owner.make_dir(root / "data")
        socket_dir = owner.make_dir(root / "socket")
        log_path = root / "postgres.log"

        initdb = owner.run(
            [
                str(bindir / "initdb"),
                f"--pgdata={data_dir}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                f"--username={PG_SUPERUSER}",
                "--no-sync",  # the cluster is thrown away; skip fsync of the new files
            ],
            log_path,
            root,
        )
        if initdb.wait() != 0:
            raise _start_error(f"initdb failed with code {initdb.returncode}", log_path)

        port = free_port()
        server = PostgresServer(host=LOOPBACK, port=port, database=PG_DATABASE)
        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(port),
            "unix_socket_directories": str(socket_dir),
            # Durability is pointless for a throwaway test cluster.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        # The postmaster runs in the foreground under our Popen so that an early
        # exit (bad setting, port taken) is noticed at once instead of after
        # the whole startup timeout.
        postmaster = owner.run(
            [
                str(bindir / "postgres"),
                "-D",
                str(data_dir),
                *(arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")),
            ],
            log_path,
            root,
        )
        try:
            _wait_until_ready(
                "postgres",
                lambda: _pg_accepts_connections(server._dsn_admin("postgres")),
                postmaster,
                PG_STARTUP_TIMEOUT,
                log_path,
            )
            _create_app_role(server)
            server.create_database(PG_DATABASE)
            yield server
        finally:
            _stop_postgres(owner, bindir, data_dir, postmaster, log_path)


def _create_app_role(server: PostgresServer) -> None:
    import psycopg2
    from psycopg2 import sql

    with closing(psycopg2.connect(server._dsn_admin("postgres"))) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} "
                    "NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
                ).format(sql.Identifier(PG_APP_ROLE), sql.Literal(PG_APP_PASSWORD))
            )


def _stop_postgres(
    owner: _PgUser,
    bindir: Path,
    data_dir: Path,
    postmaster: subprocess.Popen[bytes],
    log_path: Path,
) -> None:
    if postmaster.poll() is None:
        # Immediate mode: no checkpoint, the data is discarded anyway.
        stop = owner.run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"],
            log_path,
            log_path.parent,
        )
        stop.wait()
    try:
        postmaster.wait(timeout=30)
    except subprocess.TimeoutExpired:
        postmaster.kill()
        postmaster.wait()


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def find_redis_server() -> Path:
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ServerUnavailable(
        "redis-server not found; install it with `apt-get install redis-server`"
    )


def _redis_answers_ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.BusyLoadingError):
        return False
    finally:
        client.close()


@contextmanager
def start_redis(base_dir: Path | None = None) -> Iterator[RedisServer]:
    """Run a throwaway redis-server with persistence disabled."""
    executable = find_redis_server()
    with _session_dir("portside-redis-", base_dir, "redis") as root:
        log_path = root / "redis.log"
        server = RedisServer(host=LOOPBACK, port=free_port())
        options = {
            "port": str(server.port),
            "bind": LOOPBACK,
            # No RDB snapshots or AOF: nothing a test writes should hit disk.
            "save": "",
            "appendonly": "no",
            "dir": str(root),
        }
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    str(executable),
                    *(arg for key, value in options.items() for arg in (f"--{key}", value)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
        try:
            _wait_until_ready(
                "redis-server",
                lambda: _redis_answers_ping(server.url),
                proc,
                REDIS_STARTUP_TIMEOUT,
                log_path,
            )
            yield server
        finally:
            _stop_process(proc)


# --------------------------------------------------------------------------
# BigQuery emulator (bqemulator, in process)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BigQueryEmulator:
    project: str
    endpoint: str
    dataset: str | None = None

    def client(self) -> bigquery.Client:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )


def install_duckdb_spatial() -> None:
    """Install DuckDB's spatial extension from the duckdb-extension-spatial wheel.

    bqemulator runs ``INSTALL spatial`` at startup and refuses to start
    without it; with no network, that only succeeds when the extension is
    already in DuckDB's extension directory (~/.duckdb/extensions), which
    is what this does.
    """
    import duckdb

    with closing(duckdb.connect()) as conn:
        installed = conn.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'"
        ).fetchone()
        if installed is not None and installed[0]:
            return
        # The wheel is only a data carrier: locate it without importing it.
        spec = importlib.util.find_spec("duckdb_extension_spatial")
        if spec is None or spec.origin is None:
            raise ServerUnavailable(
                "DuckDB spatial extension not installed and package "
                "duckdb-extension-spatial missing; "
                f"`pip install duckdb-extension-spatial=={duckdb.__version__}`"
            )
        package_dir = Path(spec.origin).parent
        # The extension binary must match the DuckDB version exactly.
        extension = (
            package_dir / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
        )
        if not extension.is_file():
            raise ServerUnavailable(
                f"{extension} not found; install duckdb-extension-spatial=={duckdb.__version__}"
            )
        # INSTALL takes no bind parameters; quote the path as a SQL literal.
        quoted = str(extension).replace("'", "''")
        conn.execute(f"INSTALL '{quoted}'")


@contextmanager
def _emulator_logs_to(log_path: Path) -> Iterator[None]:
    """Route the emulator's loggers (its own and uvicorn's) to ``log_path`` only."""
    file_handler = logging.FileHandler(log_path)
    loggers = [logging.getLogger(name) for name in ("bqemulator", "uvicorn")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(file_handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(file_handler)
            logger.setLevel(level)
            logger.propagate = propagate
        file_handler.close()


@contextmanager
def _shielded_root_logging() -> Iterator[None]:
    """Undo what EmulatorServer.start() does to the process's root logger.

    It calls ``logging.basicConfig(force=True)``, which closes and replaces
    every root handler (pytest's included) and resets the root level. Detach
    our handlers while it runs, then drop its stderr handler and put ours back.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    for handler in saved_handlers:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


@contextmanager
def start_bigquery_emulator(
    project: str = "portside-test",
    dataset: str | None = None,
    base_dir: Path | None = None,
) -> Iterator[BigQueryEmulator]:
    """Run bqemulator in this process, optionally creating ``dataset``.

    Uses the package's own ThreadedEmulator (what its pytest plugin uses):
    the server gets a private event loop on a daemon thread, so synchronous
    test code and google-cloud-bigquery can call it directly. Data lives in
    an in-memory DuckDB and disappears on exit.
    """
    try:
        from bqemulator.config import PersistenceMode, Settings
        from bqemulator.testing._thread_runner import ThreadedEmulator
    except ImportError:
        raise ServerUnavailable(
            "bqemulator not installed; `pip install 'bqemulator[testing]'`"
        ) from None
    install_duckdb_spatial()
    with _session_dir("portside-bq-", base_dir, "bigquery emulator") as root:
        log_path = root / "bqemulator.log"
        settings = Settings(
            persistence_mode=PersistenceMode.EPHEMERAL,
            default_project_id=project,
            # Port 0: the emulator binds and reports the port itself, no race.
            rest_host=LOOPBACK,
            rest_port=0,
            grpc_host=LOOPBACK,
            grpc_port=0,
            # Its optional avro extension would be downloaded; there is no network.
            enable_format_extensions=False,
            upload_staging_dir=root / "uploads",
        )
        with _emulator_logs_to(log_path):
            # Constructing it imports bqemulator.server, which logs at import
            # time through structlog's unconfigured default: a print to stdout.
            with log_path.open("a") as import_log, redirect_stdout(import_log):
                threaded = ThreadedEmulator(settings)
            try:
                try:
                    with _shielded_root_logging():
                        threaded.start()
                except Exception as exc:
                    raise _start_error(f"bqemulator failed to start: {exc!r}", log_path) from exc
                emulator = BigQueryEmulator(
                    project=project, endpoint=threaded.server.rest_url, dataset=dataset
                )
                if dataset is not None:
                    with closing(emulator.client()) as client:
                        client.create_dataset(dataset)
                yield emulator
            finally:
                threaded.stop()


# --------------------------------------------------------------------------
# Prometheus (Debian's package), receiving remote write
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PrometheusServer:
    host: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


PROMETHEUS_OUT_OF_ORDER_WINDOW = "30d"
"""Tests write samples in the past, and in any order across series: without an out-of-order window
Prometheus refuses samples older than its newest sample minus an hour ("out of bounds")."""

_PROMETHEUS_CONFIG = f"""\
# Nothing is scraped: the tests push with remote write.
global:
  evaluation_interval: 1h
storage:
  tsdb:
    out_of_order_time_window: {PROMETHEUS_OUT_OF_ORDER_WINDOW}
"""


def find_prometheus() -> Path:
    for candidate in (shutil.which("prometheus"), "/usr/bin/prometheus"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ServerUnavailable("prometheus not found; install it with `apt-get install prometheus`")


def _prometheus_ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def start_prometheus(base_dir: Path | None = None) -> Iterator[PrometheusServer]:
    """Run a throwaway Prometheus with its remote-write receiver enabled and nothing to scrape.

    Needs 2.39 or newer for `out_of_order_time_window` (Debian 12 ships 2.42).
    """
    executable = find_prometheus()
    with _session_dir("portside-prometheus-", base_dir, "prometheus") as root:
        log_path = root / "prometheus.log"
        config = root / "prometheus.yml"
        config.write_text(_PROMETHEUS_CONFIG)
        port = free_port()
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    str(executable),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--web.listen-address={LOOPBACK}:{port}",
                    "--web.enable-remote-write-receiver",
                    "--storage.tsdb.retention.time=60d",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
        server = PrometheusServer(host=LOOPBACK, port=port, data_dir=root / "data", process=proc)
        try:
            _wait_until_ready("prometheus", lambda: _prometheus_ready(server.url), proc,
                              PROMETHEUS_STARTUP_TIMEOUT, log_path)
            yield server
        finally:
            _stop_process(proc)
