"""Real git servers for the test suite, on 127.0.0.1 and free ports chosen at run time.

Three servers, one per network transport, each serving the bare repositories found under
one directory (``root``):

* :class:`GitDaemon`: ``git daemon`` (``git://``), with push enabled.
* :class:`HttpGitServer`: smart HTTP, ``git http-backend`` behind nginx and fcgiwrap
  (``http://``, or ``https://`` with ``tls=True`` and a generated self-signed certificate),
  with push enabled and optional basic authentication.
* :class:`SshGitServer`: an sshd of its own with generated host and client keys
  (``ssh://``); clients need :attr:`SshGitServer.git_ssh_command` as ``GIT_SSH_COMMAND``
  (:meth:`SshGitServer.client_env` gives it).

Each is a context manager (``with GitDaemon(root) as server: ...``) whose exit stops the
server and removes its state directory. ``stop()`` then ``start()`` brings a server down
and back up on the same port, to test a remote that goes away and comes back. Startup
waits for the port to accept connections, bounded by :data:`START_TIMEOUT` seconds, and
raises :class:`ServerError` with the server's log when it does not. Every started server
is also stopped at interpreter exit, should a test leak one.

Helpers: :func:`make_bare_repo` (a bare repository every server can serve and accept
pushes into), :func:`make_rejecting` / :func:`make_accepting` (a pre-receive hook that
rejects every push, and its removal), :func:`make_host_limited` (a repository with a
host's limits, :class:`HostLimits`, at scaled-down sizes), :func:`require` (skip, or fail
under ``CI=true``, when a needed program is missing). The pytest fixtures that run them
(``git_daemon``, ``http_git_server``, ``https_git_server``, ``ssh_git_server``, the
parametrized ``git_server``, and ``host_server``: a server whose repository has host
limits) are in ``tests/conftest.py``.

The system packages come from ``.ci/install-system-packages``.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TypeVar

import pytest

__all__ = [
    "HOST_LIMITS",
    "LOOPBACK",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "GitDaemon",
    "GitServer",
    "HostLimits",
    "HostRepo",
    "HttpGitServer",
    "ServerError",
    "SshGitServer",
    "find_command",
    "free_port",
    "make_accepting",
    "make_bare_repo",
    "make_host_limited",
    "make_rejecting",
    "require",
]

LOOPBACK = "127.0.0.1"
"""The only address any server listens on."""

START_TIMEOUT = 10.0
"""Seconds a server may take to accept connections before :class:`ServerError`."""

STOP_TIMEOUT = 5.0
"""Seconds a server may take to exit after SIGTERM before it is sent SIGKILL."""

_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
"""Where nginx, fcgiwrap and sshd live on Debian; not on a normal user's PATH."""

_REJECT_HOOK_MARKER = "# gitblobts-tests: reject every push"


class ServerError(RuntimeError):
    """A test server could not be started."""


def find_command(command: str) -> str | None:
    """Return the absolute path of ``command`` on PATH or in the sbin directories, or None."""
    found = shutil.which(command)
    if found is None:
        found = shutil.which(command, path=os.pathsep.join(_SBIN_DIRS))
    return None if found is None else os.path.abspath(found)


def _in_ci() -> bool:
    """Whether the environment says this is a CI run (``CI=true``, as CI providers set)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def require(*commands: str) -> None:
    """Skip the calling test when one of ``commands`` is missing; fail instead under CI.

    Outside CI, a missing server binary means ``.ci/install-system-packages`` did not run,
    and the test is skipped with a reason that says so. With ``CI=true`` the test fails,
    so CI cannot pass by silently skipping every server test.
    """
    missing = [command for command in commands if find_command(command) is None]
    if not missing:
        return
    reason = (
        f"missing {', '.join(missing)}: run .ci/install-system-packages "
        "to install the git servers' system packages"
    )
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: not skipping)", pytrace=False)
    pytest.skip(reason)


def _which(command: str) -> str:
    """Return the absolute path of ``command``; raise :class:`ServerError` when missing."""
    found = find_command(command)
    if found is None:
        raise ServerError(f"{command} not found: run .ci/install-system-packages")
    return found


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_accepts(port: int) -> bool:
    """Whether a TCP connection to 127.0.0.1:``port`` succeeds right now."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def _git(*args: str, cwd: Path | None = None) -> None:
    """Run git with ``args``; raise :class:`ServerError` with its stderr on failure."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise ServerError(f"git {' '.join(args)} failed: {result.stderr.strip()}")


def make_bare_repo(root: Path, name: str, initial_branch: str = "main") -> Path:
    """Create the bare repository ``root/name`` that every server here serves; return it.

    Pushes are enabled for all transports: ``http.receivepack`` is set (git http-backend
    refuses unauthenticated pushes otherwise) and ``git-daemon-export-ok`` exists (git
    daemon also runs with ``--export-all``, so that is belt and braces).
    """
    repo = root / name
    repo.parent.mkdir(parents=True, exist_ok=True)
    _git("init", "--quiet", "--bare", f"--initial-branch={initial_branch}", str(repo))
    _git("-C", str(repo), "config", "http.receivepack", "true")
    (repo / "git-daemon-export-ok").touch()
    return repo


def _hooks_dir(repo: Path) -> Path:
    """The hooks directory of the bare repository ``repo``."""
    return repo / "hooks"


def make_rejecting(repo: Path, message: str = "pushes rejected by test hook") -> None:
    """Make the bare repository ``repo`` reject every push with a pre-receive hook.

    The hook prints ``message`` to stderr (git shows it to the pusher as ``remote: ...``)
    and exits 1, so the whole push is refused and no ref moves, on every transport.
    """
    hook = _hooks_dir(repo) / "pre-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        f"#!/bin/sh\n{_REJECT_HOOK_MARKER}\ncat >/dev/null\n"
        f"echo {shlex.quote(message)} >&2\nexit 1\n"
    )
    hook.chmod(0o755)


def make_accepting(repo: Path) -> None:
    """Undo :func:`make_rejecting`: remove the rejecting pre-receive hook of ``repo``."""
    hook = _hooks_dir(repo) / "pre-receive"
    if hook.is_file() and _REJECT_HOOK_MARKER in hook.read_text():
        hook.unlink()


_HOST_HOOK_MARKER = "# gitblobts-tests: host limits"


@dataclass(frozen=True)
class HostLimits:
    """A git host's limits, scaled down so tests stay fast; None is no limit.

    Every server here serves a repository made with :func:`make_host_limited` under them:
    the limits live in the repository (its config and a pre-receive hook), not the server.
    """

    max_push_bytes: int | None = None
    """git's ``receive.maxInputSize``: a push whose pack is larger is refused."""

    max_object_bytes: int | None = None
    """A new blob larger is refused, naming its path, size and the limit (as GitHub
    refuses files over 100 MB)."""

    max_folder_entries: int | None = None
    """A new tree with more entries is refused, naming the folder (GitHub recommends at
    most 3,000 per folder)."""


_HOST_HOOK = r"""#!/bin/sh
{marker}
# Refuses new blobs over MAX_OBJECT bytes and new trees over MAX_ENTRIES entries (0: no
# limit). Only the objects a ref update brings in are read: rev-list --not --all.
MAX_OBJECT={max_object}
MAX_ENTRIES={max_entries}
refused=0
while read -r old new ref; do
    case $new in *[!0]*) ;; *) continue ;; esac
    found=$(git rev-list --objects "$new" --not --all |
        git cat-file --batch-check='%(objecttype) %(objectname) %(objectsize) %(rest)' |
        while read -r type name size path; do
            if [ "$type" = blob ] && [ "$MAX_OBJECT" -gt 0 ] && [ "$size" -gt "$MAX_OBJECT" ]
            then
                echo "error: File ${{path:-$name}} is $size bytes; this exceeds the host's" \
                    "file size limit of $MAX_OBJECT bytes"
            elif [ "$type" = tree ] && [ "$MAX_ENTRIES" -gt 0 ]; then
                entries=$(git ls-tree "$name" | wc -l)
                if [ "$entries" -gt "$MAX_ENTRIES" ]; then
                    echo "error: Folder ${{path:-/}} has $entries entries; this exceeds the" \
                        "host's limit of $MAX_ENTRIES entries per folder"
                fi
            fi
        done)
    if [ -n "$found" ]; then
        echo "$found" >&2
        echo "error: $ref refused: it brings objects over the host's limits" >&2
        refused=1
    fi
done
exit $refused
"""


HOST_LIMITS = HostLimits(
    max_push_bytes=256 * 1024, max_object_bytes=64 * 1024, max_folder_entries=50
)
"""The ``host_server`` fixture's limits: a host's, scaled down so tests stay fast."""


@dataclass(frozen=True)
class HostRepo:
    """A served repository with a host's limits: what the ``host_server`` fixture gives."""

    server: GitServer
    """The server (its :meth:`GitServer.client_env` is already in ``os.environ``)."""

    repo: Path
    """The bare repository on the server's side."""

    url: str
    """The URL a client clones and pushes."""

    limits: HostLimits
    """The limits ``repo`` has."""


def make_host_limited(repo: Path, limits: HostLimits) -> None:
    """Give the bare repository ``repo`` a host's ``limits``, on every transport.

    ``max_push_bytes`` sets ``receive.maxInputSize`` (git refuses the pack before any hook
    runs); ``max_object_bytes`` and ``max_folder_entries`` install a pre-receive hook (sh
    and git only) that lists the objects each ref update brings, ``git rev-list --objects
    NEW --not --all``, and refuses the whole push when one is over a limit, naming it.
    """
    if limits.max_push_bytes is not None:
        _git("-C", str(repo), "config", "receive.maxInputSize", str(limits.max_push_bytes))
    if limits.max_object_bytes is None and limits.max_folder_entries is None:
        return
    hook = _hooks_dir(repo) / "pre-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        _HOST_HOOK.format(
            marker=_HOST_HOOK_MARKER,
            max_object=limits.max_object_bytes or 0,
            max_entries=limits.max_folder_entries or 0,
        )
    )
    hook.chmod(0o755)


_RUNNING: set[GitServer] = set()
"""Servers started and not yet stopped: the atexit safety net stops them."""


def _stop_all() -> None:
    """Stop every server still running (registered with atexit)."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.close()


atexit.register(_stop_all)


def _exited(pid: int) -> bool:
    """Whether our child ``pid`` has exited, without reaping it (its id stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_exited(pid: int, timeout: float) -> bool:
    """Poll :func:`_exited` for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not _exited(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _killpg(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``, ignoring a group that is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after STOP_TIMEOUT.

    The leader is reaped only after the whole group got SIGKILL, so the group id cannot
    have been reused by an unrelated process when it is signalled. Children still in the
    group (a request being served) go too.
    """
    if proc.returncode is None:
        _killpg(proc.pid, signal.SIGTERM)
        if not _wait_exited(proc.pid, STOP_TIMEOUT):
            _killpg(proc.pid, signal.SIGKILL)
            _wait_exited(proc.pid, STOP_TIMEOUT)
    _killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)


_S = TypeVar("_S", bound="GitServer")


class GitServer:
    """Base of the servers: state directory, port, processes, start/stop, context manager.

    Subclasses implement :meth:`_prepare` (one-time setup in the state directory),
    :meth:`_launch` (start the processes on :attr:`port`) and :meth:`url`.
    """

    scheme = ""
    """URL scheme of the transport: ``git``, ``http``, ``https`` or ``ssh``."""

    commands: tuple[str, ...] = ("git",)
    """Programs the server needs; pass them to :func:`require`."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        """Serve the repositories under ``root`` (created if missing).

        ``port`` pins the TCP port; by default a free one is chosen at the first start.
        """
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._state: Path | None = None
        self._port: int | None = port
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []
        self._names: dict[int, str] = {}
        self._log_offsets: dict[str, int] = {}

    # -- public API -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1; chosen at the first start and kept across restarts."""
        if self._port is None:
            raise ServerError(f"{type(self).__name__} has not been started")
        return self._port

    @property
    def state_dir(self) -> Path:
        """The temporary directory holding the server's configuration, keys, pids and logs."""
        if self._state is None:
            raise ServerError(f"{type(self).__name__} has not been started")
        return self._state

    @property
    def running(self) -> bool:
        """Whether all the server's processes are alive."""
        return bool(self._procs) and all(proc.poll() is None for proc in self._procs)

    @property
    def pids(self) -> list[int]:
        """Process ids of the server's main processes (empty when stopped)."""
        return [proc.pid for proc in self._procs]

    def url(self, name: str) -> str:
        """The URL a git client uses for the repository ``root/name``."""
        raise NotImplementedError

    def client_env(self) -> dict[str, str]:
        """Environment variables a git client needs for this server (none by default)."""
        return {}

    def start(self: _S) -> _S:
        """Start the server (on the same port as before, after :meth:`stop`); return it.

        Waits until the port accepts connections, at most :data:`START_TIMEOUT` seconds;
        raises :class:`ServerError` with the server's logs when it does not.
        """
        if self.running:
            return self
        self._stop_processes()
        _RUNNING.add(self)
        if self._state is None:
            self._state = Path(tempfile.mkdtemp(prefix=f"gbts-{self.scheme}-"))
            if self._port is None:
                self._port = free_port()
            try:
                self._prepare()
            except BaseException:
                self.close()
                raise
        try:
            self._launch()
            self._wait_until_ready()
        except BaseException:
            self._stop_processes()
            raise
        return self

    def stop(self) -> None:
        """Stop the server's processes; keep port and state so :meth:`start` can resume."""
        self._stop_processes()

    def close(self) -> None:
        """Stop the server and remove its state directory."""
        self._stop_processes()
        _RUNNING.discard(self)
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def __enter__(self: _S) -> _S:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and remove its state directory."""
        self.close()

    def __repr__(self) -> str:
        """Class, port and root."""
        return f"{type(self).__name__}(root={str(self.root)!r}, port={self._port})"

    # -- for subclasses -----------------------------------------------------------------

    def _prepare(self) -> None:
        """One-time setup in the fresh state directory (keys, password files)."""

    def _launch(self) -> None:
        """Start the server's processes, listening on 127.0.0.1:``port``."""
        raise NotImplementedError

    def _ready(self) -> bool:
        """Whether the server is ready (default: the port accepts connections)."""
        return _port_accepts(self.port)

    def _spawn(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own process group, output to ``state/name.log``."""
        log_path = self.state_dir / f"{name}.log"
        self._logs.append(log_path)
        self._log_offsets[name] = log_path.stat().st_size if log_path.exists() else 0
        log: IO[bytes]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,
            )
        self._procs.append(proc)
        self._names[proc.pid] = name
        return proc

    def _wait_until(self, what: str, check: Callable[[], bool]) -> None:
        """Poll ``check`` until true, for at most START_TIMEOUT; raise with the logs if not."""
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.005
        while True:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise ServerError(
                        f"{type(self).__name__}: {self._names.get(proc.pid, 'process')} exited "
                        f"with status {proc.returncode} before {what}\n{self._log_text()}"
                    )
            if check():
                return
            if time.monotonic() >= deadline:
                raise ServerError(
                    f"{type(self).__name__}: no {what} within {START_TIMEOUT:g} s\n"
                    f"{self._log_text()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _wait_until_ready(self) -> None:
        """Wait until the port accepts connections."""
        self._wait_until(f"connection on {LOOPBACK}:{self.port}", self._ready)

    def _log_since_start(self, name: str) -> str:
        """What process ``name`` wrote to its log since it was last started."""
        try:
            with open(self.state_dir / f"{name}.log", "rb") as log:
                log.seek(self._log_offsets.get(name, 0))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _log_text(self) -> str:
        """The server's log files, for error messages."""
        parts = []
        for path in dict.fromkeys(self._logs):
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            parts.append(f"--- {path.name} ---\n{text[-4000:]}")
        return "\n".join(parts) or "(no log output)"

    def _stop_processes(self) -> None:
        """Terminate every process, last started first."""
        procs, self._procs = self._procs, []
        for proc in reversed(procs):
            with contextlib.suppress(Exception):
                _terminate(proc)


_PER_REPO_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
)
"""Variables that would point a server's git at some other repository."""


def _server_env() -> dict[str, str]:
    """The environment for server processes: ours, less per-repository git variables."""
    env = dict(os.environ)
    for name in _PER_REPO_GIT_ENV:
        env.pop(name, None)
    return env


class GitDaemon(GitServer):
    """``git daemon`` on 127.0.0.1: the ``git://`` transport, with push (receive-pack) on.

    Runs ``git daemon --reuseaddr --base-path=ROOT --export-all --enable=receive-pack
    --listen=127.0.0.1 --port=PORT ROOT``, so ``git://127.0.0.1:PORT/NAME`` is
    ``ROOT/NAME``. The protocol has no authentication.
    """

    scheme = "git"
    commands = ("git",)

    def url(self, name: str) -> str:
        """``git://127.0.0.1:PORT/name``."""
        return f"git://{LOOPBACK}:{self.port}/{name}"

    def _ready(self) -> bool:
        """Whether the daemon said it listens (``--verbose``) and the port accepts.

        The log line matters: a port that accepts connections could belong to someone else.
        """
        return "Ready to rumble" in self._log_since_start("daemon") and _port_accepts(self.port)

    def _launch(self) -> None:
        """Start git daemon in the foreground, logging to ``daemon.log``."""
        self._spawn(
            "daemon",
            [
                _which("git"),
                "daemon",
                "--reuseaddr",
                f"--base-path={self.root}",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                "--verbose",
                "--log-destination=stderr",
                f"--listen={LOOPBACK}",
                f"--port={self.port}",
                str(self.root),
            ],
            env=_server_env(),
        )


class HttpGitServer(GitServer):
    """Smart HTTP: ``git http-backend`` run by fcgiwrap behind nginx, on 127.0.0.1.

    Everything lives in the state directory: ``nginx.conf``, pid, error and access logs,
    nginx's temp directories and fcgiwrap's unix socket. nginx runs in the foreground
    (``daemon off``) as the current user (as root, ``user root root`` keeps the workers
    able to reach the socket). http-backend gets ``GIT_PROJECT_ROOT=root``,
    ``GIT_HTTP_EXPORT_ALL`` and ``http.receivepack=true`` (through ``GIT_CONFIG_*``), so
    every repository under ``root`` can be fetched and pushed to.

    With ``auth=(user, password)`` every request needs HTTP basic authentication (an
    htpasswd file in nginx's ``{PLAIN}`` scheme); :meth:`url_with_credentials` gives a
    URL carrying them. Requests larger than ``http.postBuffer`` arrive chunked; nginx
    buffers them and passes their length on, so large pushes work.

    With ``tls=True`` nginx serves HTTPS (``https://`` URLs) with a self-signed P-256
    certificate for ``IP:127.0.0.1``, generated into the state directory at the first
    start and kept across restarts. :attr:`ca_file` is that certificate; the git command
    trusts it through ``GIT_SSL_CAINFO`` (:meth:`client_env`), dulwich through the git
    config ``http.sslCAInfo``.
    """

    scheme = "http"
    commands = ("git", "nginx", "fcgiwrap")

    def __init__(
        self,
        root: Path,
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        tls: bool = False,
    ) -> None:
        """Serve ``root``; require basic authentication with ``auth``; HTTPS with ``tls``."""
        super().__init__(root, port)
        if any(char in str(self.root) for char in '"$\\\n'):
            raise ValueError(f"root {self.root} has characters nginx.conf cannot quote")
        if auth is not None and (":" in auth[0] or not auth[0] or "\n" in "".join(auth)):
            raise ValueError("auth user must be non-empty, without ':' or newlines")
        self.auth = auth
        self.tls = tls
        if tls:
            self.scheme = "https"

    def url(self, name: str) -> str:
        """``http(s)://127.0.0.1:PORT/name``, without credentials."""
        return f"{self.scheme}://{LOOPBACK}:{self.port}/{name}"

    def url_with_credentials(self, name: str) -> str:
        """``http(s)://USER:PASSWORD@127.0.0.1:PORT/name`` (percent-encoded credentials)."""
        if self.auth is None:
            raise ServerError("HttpGitServer was created without auth")
        from urllib.parse import quote

        user, password = (quote(part, safe="") for part in self.auth)
        return f"{self.scheme}://{user}:{password}@{LOOPBACK}:{self.port}/{name}"

    @property
    def ca_file(self) -> Path:
        """The self-signed certificate (PEM) a client must trust; only with ``tls=True``."""
        if not self.tls:
            raise ServerError("HttpGitServer was created without tls")
        return self.state_dir / "tls-cert.pem"

    @property
    def _key_file(self) -> Path:
        """The certificate's private key (PEM, unencrypted, mode 0600)."""
        return self.state_dir / "tls-key.pem"

    def client_env(self) -> dict[str, str]:
        """With ``tls``, ``GIT_SSL_CAINFO`` (the git command's CA bundle); else nothing."""
        return {"GIT_SSL_CAINFO": str(self.ca_file)} if self.tls else {}

    @property
    def _socket(self) -> Path:
        """fcgiwrap's unix socket (in the short /tmp state directory: sun_path is small)."""
        return self.state_dir / "fcgiwrap.sock"

    def _prepare(self) -> None:
        """nginx temp directories; with auth, the htpasswd file; with tls, the certificate."""
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.state_dir / "temp" / sub).mkdir(parents=True)
        if self.auth is not None:
            user, password = self.auth
            htpasswd = self.state_dir / "htpasswd"
            htpasswd.write_text(f"{user}:{{PLAIN}}{password}\n")
            htpasswd.chmod(0o600)
        if self.tls:
            self._make_certificate()

    def _make_certificate(self) -> None:
        """A self-signed P-256 certificate for IP:127.0.0.1, valid for two days.

        Like ``openssl req -x509``: ``CA:TRUE`` with key identifiers and key usage, so
        OpenSSL (git's libcurl, Python's ssl and urllib3) accepts it as its own trust anchor,
        also under ``VERIFY_X509_STRICT`` (Python 3.13's default); the subjectAltName is
        what hostname checking matches.
        """
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False
            )
            .sign(key, hashes.SHA256())
        )
        self._key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._key_file.chmod(0o600)
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _nginx_conf(self) -> str:
        """The nginx configuration for the current port."""
        state = self.state_dir
        git_exec_path = subprocess.run(
            [_which("git"), "--exec-path"], capture_output=True, text=True, check=True
        ).stdout.strip()
        backend = Path(git_exec_path) / "git-http-backend"
        if not os.access(backend, os.X_OK):
            raise ServerError(f"{backend} not found or not executable")
        user_directive = ""
        if os.geteuid() == 0:
            user = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            user_directive = f"user {user} {group};"
        auth = ""
        if self.auth is not None:
            auth = (
                'auth_basic "gitblobts test server";\n'
                f"            auth_basic_user_file {state}/htpasswd;"
            )
        listen = f"{LOOPBACK}:{self.port}"
        if self.tls:
            listen = (
                f"{listen} ssl;\n"
                f"        ssl_certificate {self.ca_file};\n"
                f"        ssl_certificate_key {self._key_file}"
            )
        search_path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        params = {
            "SCRIPT_FILENAME": str(backend),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "PATH": search_path,
            "PATH_INFO": "$uri",
            "QUERY_STRING": "$query_string",
            "REQUEST_METHOD": "$request_method",
            "CONTENT_TYPE": "$content_type",
            "CONTENT_LENGTH": "$content_length",
            "REQUEST_URI": "$request_uri",
            "SERVER_PROTOCOL": "$server_protocol",
            "REMOTE_ADDR": "$remote_addr",
            "REMOTE_USER": "$remote_user",
            "HTTP_GIT_PROTOCOL": "$http_git_protocol",
            "GIT_PROTOCOL": "$http_git_protocol",
        }
        for name in ("HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL"):
            if name in os.environ:
                params[name] = os.environ[name]
        if self.tls:
            params["HTTPS"] = "on"
        param_lines = "\n".join(
            f'            fastcgi_param {name} "{value}";' for name, value in params.items()
        )
        return f"""\
{user_directive}
worker_processes 1;
daemon off;
master_process on;
pid {state}/nginx.pid;
error_log {state}/error.log warn;

events {{
    worker_connections 128;
}}

http {{
    access_log {state}/access.log;
    client_body_temp_path {state}/temp/client_body;
    proxy_temp_path {state}/temp/proxy;
    fastcgi_temp_path {state}/temp/fastcgi;
    uwsgi_temp_path {state}/temp/uwsgi;
    scgi_temp_path {state}/temp/scgi;
    client_max_body_size 0;
    default_type application/octet-stream;

    server {{
        listen {listen};
        server_name localhost;

        location / {{
            {auth}
            fastcgi_pass unix:{self._socket};
            fastcgi_read_timeout 300s;
{param_lines}
        }}
    }}
}}
"""

    def _socket_accepts(self) -> bool:
        """Whether fcgiwrap's socket accepts connections."""
        if not self._socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            try:
                sock.connect(str(self._socket))
            except OSError:
                return False
            return True

    def _ready(self) -> bool:
        """Whether the port answers HTTP (so it is nginx, not some other listener).

        With ``tls`` the request goes over TLS, verified against :attr:`ca_file`, so the
        certificate nginx presents is checked too.
        """
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as raw:
                sock = raw
                if self.tls:
                    context = ssl.create_default_context(cafile=str(self.ca_file))
                    sock = context.wrap_socket(raw, server_hostname=LOOPBACK)
                with sock:
                    sock.sendall(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                    return sock.recv(16).startswith(b"HTTP/")
        except OSError:
            return False

    def _launch(self) -> None:
        """Start fcgiwrap, wait for its socket, then start nginx."""
        conf = self.state_dir / "nginx.conf"
        conf.write_text(self._nginx_conf())
        self._socket.unlink(missing_ok=True)
        self._spawn(
            "fcgiwrap",
            [_which("fcgiwrap"), "-c", "4", "-f", "-s", f"unix:{self._socket}"],
            env=_server_env(),
        )
        self._wait_until(f"fcgiwrap socket {self._socket}", self._socket_accepts)
        self._logs.append(self.state_dir / "error.log")
        self._spawn(
            "nginx",
            [
                _which("nginx"),
                "-p",
                f"{self.state_dir}/",
                "-c",
                str(conf),
                "-e",
                str(self.state_dir / "error.log"),
            ],
            env=_server_env(),
        )


class SshGitServer(GitServer):
    """An sshd of its own on 127.0.0.1: the ``ssh://`` transport, as the current user.

    The state directory holds a generated ed25519 host key and client key,
    ``authorized_keys`` (the client key only) and ``sshd_config`` (``StrictModes no``,
    ``UsePAM no``, public keys only, ``AllowUsers`` the current user). sshd runs in the
    foreground (``-D -e``), logging to ``sshd.log``. As root it needs ``/run/sshd``
    (privilege separation), which is created when missing.

    Clients must use :attr:`git_ssh_command` as ``GIT_SSH_COMMAND``
    (:meth:`client_env`). URLs carry the absolute path: ``ssh://USER@127.0.0.1:PORT/ROOT/NAME``.
    """

    scheme = "ssh"
    commands = ("git", "sshd", "ssh", "ssh-keygen")

    def __init__(self, root: Path, port: int | None = None) -> None:
        """Serve ``root`` over ssh as the current user."""
        super().__init__(root, port)
        self.user = pwd.getpwuid(os.geteuid()).pw_name

    def url(self, name: str) -> str:
        """``ssh://USER@127.0.0.1:PORT/ROOT/name`` (absolute path)."""
        return f"ssh://{self.user}@{LOOPBACK}:{self.port}{self.root}/{name}"

    @property
    def client_key(self) -> Path:
        """The client's private key (its public key is the only authorized one)."""
        return self.state_dir / "client_ed25519"

    @property
    def git_ssh_command(self) -> str:
        """The ssh command for ``GIT_SSH_COMMAND``: our key, no host-key checks or config."""
        return shlex.join(
            [
                _which("ssh"),
                "-F",
                "/dev/null",
                "-i",
                str(self.client_key),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
            ]
        )

    def client_env(self) -> dict[str, str]:
        """``GIT_SSH_COMMAND`` for this server."""
        return {"GIT_SSH_COMMAND": self.git_ssh_command}

    def _keygen(self, path: Path, comment: str) -> None:
        """Generate an unencrypted ed25519 key pair at ``path``."""
        subprocess.run(
            [_which("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            capture_output=True,
            check=True,
            timeout=30,
        )

    def _prepare(self) -> None:
        """Host and client keys, authorized_keys, and /run/sshd when root."""
        self._keygen(self.state_dir / "host_ed25519", "gitblobts-test-host")
        self._keygen(self.client_key, "gitblobts-test-client")
        public = (self.state_dir / "client_ed25519.pub").read_text().strip()
        authorized = self.state_dir / "authorized_keys"
        authorized.write_text(f"restrict {public}\n")
        authorized.chmod(0o600)
        if os.geteuid() == 0:
            privsep = Path("/run/sshd")
            privsep.mkdir(mode=0o755, parents=True, exist_ok=True)

    def _sshd_config(self) -> str:
        """The sshd configuration for the current port."""
        state = self.state_dir
        return f"""\
ListenAddress {LOOPBACK}:{self.port}
HostKey {state}/host_ed25519
PidFile {state}/sshd.pid
AuthorizedKeysFile {state}/authorized_keys
AllowUsers {self.user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
PermitUserEnvironment no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
MaxStartups 64:30:128
LogLevel INFO
"""

    def _ready(self) -> bool:
        """Whether the port answers with an SSH banner."""
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
                return sock.recv(8).startswith(b"SSH-")
        except OSError:
            return False

    def _launch(self) -> None:
        """Start sshd in the foreground (its absolute path: sshd re-executes itself)."""
        conf = self.state_dir / "sshd_config"
        conf.write_text(self._sshd_config())
        self._spawn("sshd", [_which("sshd"), "-D", "-e", "-f", str(conf)], env=_server_env())


SERVER_CLASSES: dict[str, type[GitServer]] = {
    "git": GitDaemon,
    "http": HttpGitServer,
    "ssh": SshGitServer,
}
"""Server class per transport scheme, for parametrized tests."""
