"""Fetches and pushes between repositories on this machine through dulwich: gitblobts'
exchange lock, and the refusal git's receive-pack makes of a push into a checked-out branch.
For the ``dulwich`` backend."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.refs import Ref
from dulwich.repo import Repo

from gitblobts.core.errors import PushRejectedError
from gitblobts.core.redaction import redact
from gitblobts.gitfiles import locks

EXCHANGE_LOCK = "gitblobts-exchange.lock"
"""gitblobts' lock over fetches and pushes in a repository (see :func:`exchanging`)."""
LOCK_TIMEOUT = 60.0
"""Seconds to wait for a live writer's exchange, tracking ref or configuration lock."""
TRANSPORT_ERRORS = (
    OSError,
    GitProtocolError,
    NotGitRepository,
    HTTPUnauthorized,
    HTTPProxyUnauthorized,
)
"""What dulwich raises when a remote cannot be reached, or refuses us (credentials too)."""
_log = logging.getLogger("gitblobts")


@contextlib.contextmanager
def exchanging(common_dir: str) -> Iterator[None]:
    """Hold gitblobts' exchange lock of the repository at ``common_dir`` (every fetch into it
    and every push into it by path takes it), and clear the pack index locks that dulwich
    writers which died left there: only dulwich writes ``pack-*.idx.lock`` (git and
    gitblobts write ``tmp_idx_*``), and no gitblobts writer does while this lock is held, so
    one found then was left by a writer that died (SIGKILL while fetching or pushing), and
    would block every later fetch of the same objects."""
    with locks.take(os.path.join(common_dir, EXCHANGE_LOCK), timeout=LOCK_TIMEOUT):
        pack_dir = os.path.join(common_dir, "objects", "pack")
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(pack_dir):
                if name.startswith("pack-") and name.endswith(".idx.lock"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(pack_dir, name))
                        _log.warning("removed %s, left by a writer that died", name)
        yield


def check_current_branch(path: str, remote_ref: str, remote: str) -> None:
    """Refuse, as git's receive-pack does by its ``receive.denyCurrentBranch``, a push into
    the branch a non-bare repository at ``path`` has checked out: its index and working
    tree would not follow, and its ``git status`` would stage every blob for deletion."""
    try:
        target = Repo(path)
    except (NotGitRepository, OSError):
        return  # the push itself says what is wrong
    with target:
        config = target.get_config_stack()
        bare = config.get_boolean((b"core",), b"bare", target.bare)
        head = target.refs.read_ref(Ref(b"HEAD"))
        if bare or head != b"ref: " + remote_ref.encode():
            return
        try:
            setting = config.get((b"receive",), b"denyCurrentBranch").decode().lower()
        except KeyError:
            setting = "refuse"
    if setting in ("ignore", "false", "no", "off", "0"):
        return
    if setting == "warn":
        _log.warning(
            "%s: updating the checked-out branch %s (receive.denyCurrentBranch)", remote, remote_ref
        )
        return
    if setting == "updateinstead":
        raise PushRejectedError(
            f"{remote} refused the push: {remote_ref} is checked out there and its "
            "receive.denyCurrentBranch is updateInstead, which the dulwich backend does not "
            "do; push with backend='git', or to a bare repository"
        )
    raise PushRejectedError(
        f"{remote} refused the push: {remote_ref} is checked out there "
        "(receive.denyCurrentBranch), and its index and working tree would not follow; push "
        "to a bare repository, or change receive.denyCurrentBranch there"
    )


def refused_push(remote: str, reason: str | bytes, said: list[bytes]) -> PushRejectedError:
    """The error for a push ``remote`` refused for ``reason`` (its unpack or ref status),
    with what it said while receiving it (its hooks' messages, which name a host's limit)."""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    lines = [line.strip() for line in b"".join(said).decode("utf-8", "replace").splitlines()]
    messages = "; ".join(line for line in lines if line)
    return PushRejectedError(
        f"{remote} refused the push: {redact(reason + (': ' + messages if messages else ''))}"
    )
