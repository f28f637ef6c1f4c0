"""Secrets: the key and the passwords in remote URLs appear nowhere gitblobts writes.

With a known key (given as bytes and as text) and a remote whose URL carries
``user:password`` (smart HTTP with basic authentication, and ssh), the store works and
fails in many ways with everything logged at DEBUG; neither the key, in any encoding, nor
the password appears in the log, in the repr or text of any object handed out, in an
exception's message or traceback, in ``.gitblobts.json``, a commit message, a reflog or any
object of the repository, in what the command prints with ``--debug``, or in the
environment of the programs it runs (git, its hooks).
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitblobts import (
    CorruptBlobError,
    GitBlobTSError,
    InvalidKeyError,
    Nanoseconds,
    PushRejectedError,
    RemoteError,
    Store,
    WrongKeyError,
    generate_key,
)
from gitblobts.core.keys import decode_key
from gitblobts.core.redaction import redact
from tests.helpers.git import git, git_bytes
from tests.helpers.gitservers import (
    HttpGitServer,
    free_port,
    make_bare_repo,
    make_rejecting,
    require,
)
from tests.helpers.plumbing import object_ids

USER = "alice"
PASSWORD = "pw-Sesame-7Qx"
KEY = generate_key()
RAW_KEY = decode_key(KEY)
BASE = 1_700_000_000 * 10**9
INSTALLED = shutil.which("gitblobts")
COMMAND = [INSTALLED] if INSTALLED else [sys.executable, "-m", "gitblobts"]


def secret_texts() -> list[str]:
    """The password, and the key in every encoding a careless program might print."""
    return [
        PASSWORD,
        KEY.decode(),
        KEY.decode().rstrip("="),
        base64.b64encode(RAW_KEY).decode(),
        base64.b32encode(RAW_KEY).decode(),
        RAW_KEY.hex(),
        RAW_KEY.hex().upper(),
        repr(RAW_KEY)[2:-1],
        repr(KEY)[2:-1],
    ]


def assert_no_secret(text: str | bytes, where: str) -> None:
    """Neither the password nor the key appears in ``text``."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    assert RAW_KEY not in data, f"the raw key appears in {where}"
    for secret in secret_texts():
        assert secret.encode() not in data, f"{secret!r} appears in {where}"


def assert_error_keeps_secrets(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """The error's message, repr and whole traceback (with its causes), and the log so far,
    hold no secret."""
    assert_no_secret(str(error), "the message")
    assert_no_secret(repr(error), "the repr")
    assert_no_secret("".join(traceback.format_exception(error)), "the traceback")
    assert_no_secret(caplog.text, "the log")


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything every logger says, from DEBUG up."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def server(git_server_root: Path) -> Iterator[HttpGitServer]:
    """Smart HTTP requiring USER and PASSWORD."""
    require(*HttpGitServer.commands)
    with HttpGitServer(git_server_root, auth=(USER, PASSWORD)) as running:
        yield running


@pytest.fixture
def served(server: HttpGitServer, git_server_root: Path) -> Path:
    return make_bare_repo(git_server_root, "blobs.git")


@pytest.fixture
def clone(server: HttpGitServer, served: Path, tmp_path: Path) -> Path:
    """A clone whose ``origin`` URL carries the password."""
    path = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", server.url_with_credentials("blobs.git"), str(path))
    assert PASSWORD in git(path, "config", "remote.origin.url")
    return path


def set_url(repo: Path, url: str) -> None:
    git(repo, "remote", "set-url", "origin", url)


def raised(action: Callable[[], object]) -> GitBlobTSError:
    with pytest.raises(GitBlobTSError) as caught:
        action()
    return caught.value


# Working


@pytest.mark.parametrize("key", [KEY, KEY.decode()], ids=["bytes", "str"])
def test_working_with_a_key_and_a_password_logs_and_shows_neither(
    clone: Path, caplog_debug: pytest.LogCaptureFixture, key: bytes | str
) -> None:
    store = Store(clone, key=key)
    refs = store.addblobs([b"one", b"two"], [Nanoseconds(BASE), Nanoseconds(BASE + 1)])
    store.addblob(b"three", Nanoseconds(BASE + 2))
    store.push()
    store.pull()
    blobs = list(store.getblobs(pull=True))
    infos = list(store.listblobs())
    shown = [
        store,
        store.config,
        store.plugins,
        store.remote,
        store.unpushed,
        store.count(),
        store.verify(),
        store.migrate(),
        store.init(),
        store.configured,
        *refs,
        *blobs,
        *infos,
        store.verify().problems,
        store.plugins.ciphers.get("aes256gcm")(RAW_KEY),
        store.plugins.ciphers.get("fernet")(RAW_KEY),
    ]

    assert [blob.blob for blob in blobs] == [b"one", b"two", b"three"]
    for thing in shown:
        assert_no_secret(repr(thing), f"repr of {type(thing).__name__}")
        assert_no_secret(str(thing), f"str of {type(thing).__name__}")
    assert_no_secret(caplog_debug.text, "the log")
    assert caplog_debug.records  # the log was listened to


def test_the_repository_records_neither_the_key_nor_the_password(clone: Path, served: Path) -> None:
    store = Store(clone, key=KEY)
    store.addblobs([b"one", b"two"])
    store.pull()
    store.push()

    assert_no_secret((clone / ".gitblobts.json").read_bytes(), ".gitblobts.json")
    for repo in (clone, served):
        assert_no_secret(git_bytes(repo, "log", "--all", "--format=%B%n%an%n%cn"), "commits")
        logs = repo / ".git" / "logs" if (repo / ".git").is_dir() else repo / "logs"
        for log in (p for p in logs.rglob("*") if p.is_file()):
            assert_no_secret(log.read_bytes(), f"the reflog {log}")
        every_object = git_bytes(repo, "cat-file", "--batch-all-objects", "--batch")
        assert_no_secret(every_object, f"an object of {repo}")


# Failing


def wrong_key(clone: Path) -> None:
    Store(clone, key=KEY).addblob(b"x")
    Store(clone, key=generate_key())


def truncated_key(clone: Path) -> None:
    Store(clone, key=KEY.decode()[:-2])


def unreachable_https(clone: Path) -> None:
    set_url(clone, f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/blobs.git")
    Store(clone, key=KEY).addblob(b"kept locally")  # not strict: logged, kept
    Store(clone, key=KEY, strict=True).addblob(b"x")


def unreachable_ssh(clone: Path) -> None:
    require("ssh")
    os.environ["GIT_SSH_COMMAND"] = "ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=5"
    set_url(clone, f"ssh://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/blobs.git")
    store = Store(clone, key=KEY)
    store.addblob(b"kept locally", push=False)
    store.push()


def wrong_password(clone: Path) -> None:
    url = git(clone, "config", "remote.origin.url").strip()
    set_url(clone, url.replace(PASSWORD, f"not-{PASSWORD}"))
    Store(clone, key=KEY, strict=True).addblob(b"x")


def rejected(clone: Path) -> None:
    make_rejecting(clone.parent / "served" / "blobs.git", "no blobs today")
    Store(clone, key=KEY, strict=True).addblob(b"x")


def url_as_remote_name(clone: Path) -> None:
    store = Store(clone, key=KEY, remote=f"https://{USER}:{PASSWORD}@127.0.0.1/blobs.git")
    store.addblob(b"kept locally", push=False)
    store.push()


def corrupt_blob(clone: Path) -> None:
    store = Store(clone, key=KEY)
    (ref,) = store.addblobs([b"x"], push=False)
    (clone / ref.path).write_bytes(b"\x01" + bytes(60))
    git(clone, "commit", "--quiet", "-am", "damage")
    list(store.getblobs())


FAILURES: dict[str, tuple[Callable[[Path], None], type[GitBlobTSError]]] = {
    "wrong key": (wrong_key, WrongKeyError),
    "truncated key": (truncated_key, InvalidKeyError),
    "unreachable https": (unreachable_https, RemoteError),
    "unreachable ssh": (unreachable_ssh, RemoteError),
    "wrong password": (wrong_password, RemoteError),
    "rejected push": (rejected, PushRejectedError),
    "corrupt blob": (corrupt_blob, CorruptBlobError),
    "a URL as the remote's name": (url_as_remote_name, RemoteError),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failures_tell_what_went_wrong_without_a_secret(
    clone: Path, caplog_debug: pytest.LogCaptureFixture, failure: str
) -> None:
    saved = os.environ.get("GIT_SSH_COMMAND")
    fail, expected = FAILURES[failure]
    try:
        error = raised(lambda: fail(clone))
    finally:
        if saved is None:
            os.environ.pop("GIT_SSH_COMMAND", None)
        else:
            os.environ["GIT_SSH_COMMAND"] = saved

    assert isinstance(error, expected), repr(error)
    assert_error_keeps_secrets(error, caplog_debug)
    if failure in ("wrong password", "unreachable https", "unreachable ssh", "rejected push"):
        assert "***@127.0.0.1" in str(error)  # which remote, without its credentials


def test_an_object_does_not_hold_the_key_it_was_made_with() -> None:
    assert_no_secret(repr(Store), "the class")
    with pytest.raises(InvalidKeyError) as caught:
        decode_key(KEY[:-4])
    assert_no_secret(str(caught.value), "the message")
    assert_no_secret("".join(traceback.format_exception(caught.value)), "the traceback")


# The command


def command(
    *args: str, cwd: Path, env: dict[str, str], input: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def with_key(clone: Path) -> dict[str, str]:
    """The environment of the command: the key in ``$GITBLOBTS_KEY``."""
    return {**os.environ, "GITBLOBTS_KEY": KEY.decode()}


def test_the_command_with_debug_prints_no_secret_working_or_failing(
    clone: Path, served: Path, with_key: dict[str, str], tmp_path: Path
) -> None:
    working = [
        command("--debug", "init", cwd=clone, env=with_key),
        command("--debug", "add", "-", cwd=clone, env=with_key, input=b"a blob"),
        command("--debug", "get", "-o", str(tmp_path / "out"), cwd=clone, env=with_key),
        command("--debug", "status", cwd=clone, env=with_key),
    ]
    assert [result.returncode for result in working] == [0] * len(working)
    wrong_key = {**with_key, "GITBLOBTS_KEY": generate_key().decode()}
    cut_key = {**with_key, "GITBLOBTS_KEY": KEY.decode()[:-2]}
    failing = [
        command("--debug", "get", "--cat", cwd=clone, env=wrong_key),
        command("--debug", "get", "--cat", cwd=clone, env=cut_key),
    ]
    make_rejecting(served, "no blobs today")
    failing.append(command("--debug", "add", "-", cwd=clone, env=with_key, input=b"b"))
    set_url(clone, f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/blobs.git")
    failing.append(command("--debug", "push", cwd=clone, env=with_key))
    path = next(p for p in object_ids(clone) if p.endswith(".aes256gcm"))
    (clone / path).write_bytes(bytes(64))
    git(clone, "commit", "--quiet", "-am", "damage")
    failing.append(command("--debug", "get", "--cat", cwd=clone, env=with_key))

    assert [result.returncode for result in failing] == [1, 1, 0, 1, 1]
    assert b"warning: " in failing[2].stderr  # the blob is kept; the push failed
    assert all(b"Traceback" in failing[i].stderr for i in (0, 1, 3, 4))
    assert b"://***@127.0.0.1" in working[3].stdout + failing[2].stderr + failing[3].stderr
    for result in working + failing:
        where = f"gitblobts {' '.join(map(str, result.args[len(COMMAND) :]))}"
        assert_no_secret(result.stdout, f"the output of {where}")
        assert_no_secret(result.stderr, f"the errors of {where}")


def test_programs_the_command_runs_do_not_inherit_the_key(
    clone: Path, with_key: dict[str, str], tmp_path: Path
) -> None:
    remote = make_bare_repo(tmp_path, "hooked.git")
    seen = tmp_path / "hook-environment"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ncat >/dev/null\nenv > {seen}\n")
    hook.chmod(0o755)
    set_url(clone, str(remote))
    env = {**with_key, "GITBLOBTS_BACKEND": "git"}  # git runs the remote's hooks

    result = command("add", "-", cwd=clone, env=env, input=b"a blob")

    assert result.returncode == 0, result.stderr
    assert "GITBLOBTS_BACKEND=git" in seen.read_text()  # the hook ran, with our environment
    assert_no_secret(seen.read_bytes(), "the environment of a hook")


# Every form of credential a URL can carry

TOKEN = "tok-ghp-4Wz9QvLx2Rk"
ENCODED_SECRET = "s%40cr%3At%2F9Qk"
"""A password with '@', ':' and '/', percent-encoded as a URL needs them."""
CREDENTIALS = {
    "token only": f"{TOKEN}@",
    "user and password": f"{USER}:{TOKEN}@",
    "token and a placeholder password": f"{TOKEN}:x-oauth-basic@",
    "password only": f":{TOKEN}@",
    "percent-encoded password": f"{USER}:{ENCODED_SECRET}@",
}
"""The user part of a URL, in every form git accepts credentials in."""


def assert_no_credential(text: str | bytes, where: str) -> None:
    """No form of the token or the encoded password appears in ``text``."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    for secret in (TOKEN, ENCODED_SECRET, "s@cr:t/9Qk", "s%40cr", "cr%3At", "cr:t/9Qk"):
        assert secret.encode() not in data, f"{secret!r} appears in {where}"


def assert_chain_keeps_credentials(error: BaseException) -> None:
    """The error, and every exception of its chain (causes and contexts), hold no credential
    in their message, repr or traceback."""
    seen: set[int] = set()
    link: BaseException | None = error
    pending = [error]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        assert_no_credential(str(link), f"the message of {type(link).__name__}")
        assert_no_credential(repr(link), f"the repr of {type(link).__name__}")
        pending += [e for e in (link.__cause__, link.__context__) if e is not None]
    assert_no_credential("".join(traceback.format_exception(error)), "the traceback")


def refusing_url(server: HttpGitServer, userinfo: str) -> str:
    """The served repository's URL with credentials it refuses."""
    return server.url("blobs.git").replace("://", f"://{userinfo}", 1)


def unreachable_url(userinfo: str) -> str:
    return f"http://{userinfo}127.0.0.1:{free_port()}/blobs.git"


@pytest.mark.parametrize("where", ["refused", "unreachable"])
@pytest.mark.parametrize("form", sorted(CREDENTIALS))
def test_a_push_that_fails_shows_no_credential_of_the_url(
    clone: Path,
    server: HttpGitServer,
    caplog_debug: pytest.LogCaptureFixture,
    form: str,
    where: str,
) -> None:
    userinfo = CREDENTIALS[form]
    url = refusing_url(server, userinfo) if where == "refused" else unreachable_url(userinfo)
    set_url(clone, url)
    store = Store(clone, strict=True)

    error = raised(lambda: store.addblob(b"x"))

    assert isinstance(error, RemoteError), repr(error)
    assert_chain_keeps_credentials(error)
    assert "://***@127.0.0.1" in str(error)  # which remote, without its credentials
    assert_no_credential(caplog_debug.text, "the log")


@pytest.mark.parametrize("form", sorted(CREDENTIALS))
def test_an_add_whose_push_fails_warns_without_a_credential(
    clone: Path, server: HttpGitServer, caplog_debug: pytest.LogCaptureFixture, form: str
) -> None:
    set_url(clone, refusing_url(server, CREDENTIALS[form]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Store(clone).addblob(b"kept locally")

    assert caught, "the failed push was not reported"
    for warning in caught:
        assert_no_credential(str(warning.message), "a warning")
    assert "not pushed" in caplog_debug.text
    assert_no_credential(caplog_debug.text, "the log")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://tok@github.com/a/b.git", "https://***@github.com/a/b.git"),
        ("https://u:p@h/r", "https://***@h/r"),
        ("'http://tok@127.0.0.1:9': terminal prompts disabled", "'http://***@127.0.0.1:9': "),
        ("HTTP://a%40b:c%3Ad@h?x", "HTTP://***@h?x"),
        ("https://p@ss@h/r", "https://***@h/r"),
        ("ssh://git@host/repo", "ssh://git@host/repo"),
        ("ssh://git:pw@host/repo", "ssh://git:***@host/repo"),
        ("git@host:repo.git", "git@host:repo.git"),
        ("https://host/a@b", "https://host/a@b"),
        ("mail bob@example.com", "mail bob@example.com"),
    ],
)
def test_redaction_hides_every_credential_of_a_url(text: str, shown: str) -> None:
    assert shown in redact(text)
