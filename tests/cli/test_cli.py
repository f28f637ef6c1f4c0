"""The ``gitblobts`` command, driven as users drive it: the installed command, in a subprocess.

Exit statuses: 0 success, 1 a failure the user can fix (one line on stderr, no traceback),
2 a usage error.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store, generate_key
from gitblobts.cli.main import main
from tests.helpers.command import (
    COMMAND,
    LS_LINE,
    SECOND,
    add_blobs,
    assert_fails,
    blob_times,
    commits,
    environment,
    ok,
    run,
    stderr_on_terminal,
)
from tests.helpers.git import git, git_bytes

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("init", "keygen", "add", "ls", "get", "push", "pull", "status", "verify", "plugins")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A new store without a key (set up through the library; ``init`` has tests of its own)."""
    git(tmp_path, "init", "--quiet", "store")
    Store(tmp_path / "store").init()
    return tmp_path / "store"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key"
    path.write_text(ok("keygen", cwd=tmp_path).stdout)
    return path


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An empty bare repository to push to."""
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


# The README's promise


def test_the_readme_one_liner_works_with_nothing_set_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in environment().items()
        if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_CONFIG"))
    }
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    gitblobts = shlex.join(COMMAND)
    line = (
        f"{gitblobts} init demo && echo hello | {gitblobts} -C demo add - && {gitblobts} -C demo ls"
    )

    result = subprocess.run(
        ["sh", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    listed = LS_LINE.fullmatch(result.stdout.splitlines()[-1])
    assert listed is not None
    assert listed[3].endswith(".v2.zst")
    assert [b.blob for b in Store(tmp_path / "demo").getblobs()] == [b"hello\n"]


def test_the_readme_quick_start_shows_the_one_liner() -> None:
    readme = (ROOT / "README.md").read_text()

    assert (
        "gitblobts init demo && echo hello | gitblobts -C demo add - && gitblobts -C demo ls"
        in readme
    )


def test_python_m_gitblobts_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gitblobts", "--version"], capture_output=True, text=True
    )

    assert result.returncode == 0
    assert result.stdout.startswith("gitblobts ")


def test_the_console_script_runs_main() -> None:
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="gitblobts")

    assert script.load() is main


def test_the_command_has_help(tmp_path: Path) -> None:
    result = ok("--help", cwd=tmp_path)

    assert result.stdout.startswith("usage: gitblobts")
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0  # in-process: a property of the parser alone

    assert capsys.readouterr().out.startswith(f"usage: gitblobts {command}")


# init


def test_init_creates_a_repository_and_records_the_configuration(tmp_path: Path) -> None:
    ok("init", "new", "--layout", "flat", "--compression", "gzip", cwd=tmp_path)

    config = json.loads(git(tmp_path / "new", "show", "HEAD:.gitblobts.json"))
    assert (config["layout"], config["codec"], config["cipher"]) == ("flat", "gzip", None)
    assert git(tmp_path / "new", "status", "--porcelain") == ""


def test_init_on_an_existing_repository_records_the_configuration(repo: Path) -> None:
    before = commits(repo)

    result = ok("init", str(repo), cwd=repo.parent)

    assert "created" not in result.stdout
    assert commits(repo) == before + 1
    assert (repo / "README.md").exists()
    assert json.loads(git(repo, "show", "HEAD:.gitblobts.json"))["layout"] == "20-second"


def test_init_bare_creates_a_bare_repository(tmp_path: Path) -> None:
    ok("init", "--bare", "blobs.git", cwd=tmp_path)

    assert git(tmp_path / "blobs.git", "rev-parse", "--is-bare-repository").strip() == "true"
    assert "layout" in git(tmp_path / "blobs.git", "show", "HEAD:.gitblobts.json")


def test_init_on_a_configured_store_changes_nothing(store: Path) -> None:
    before = commits(store)

    result = ok("init", cwd=store)

    assert "a store already" in result.stderr
    assert commits(store) == before


def test_init_with_other_settings_than_recorded_fails(store: Path) -> None:
    assert_fails(run("init", "--compression", "gzip", cwd=store), 1, "configured already", "gzip")
    assert_fails(run("init", "--layout", "flat", cwd=store), 1, "layout")


def test_init_with_a_remote_adds_origin_and_pushes_the_configuration(
    tmp_path: Path, remote: Path
) -> None:
    ok("init", "one", "--remote", str(remote), "--layout", "flat", cwd=tmp_path)

    assert git(tmp_path / "one", "remote", "get-url", "origin").strip() == str(remote)
    assert "flat" in git(remote, "show", "main:.gitblobts.json")


def test_init_with_a_remote_joins_the_store_already_there(tmp_path: Path, remote: Path) -> None:
    ok("init", "one", "--remote", str(remote), "--layout", "flat", cwd=tmp_path)
    ok("add", "-", cwd=tmp_path / "one", input=b"from one")

    result = ok("init", "two", "--remote", "remote.git", cwd=tmp_path)

    assert "a store already" in result.stderr
    assert "layout flat" in result.stderr
    assert ok("get", "--cat", cwd=tmp_path / "two").output == b"from one"


# Keys


def test_keygen_prints_a_new_key_each_time(tmp_path: Path) -> None:
    first, second = (ok("keygen", cwd=tmp_path).stdout for _ in range(2))

    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=\n", first)
    assert first != second


def test_a_key_from_a_file_or_the_environment_encrypts_and_decrypts(
    tmp_path: Path, key_file: Path
) -> None:
    ok("init", "secret", "--key-file", str(key_file), cwd=tmp_path)
    store = tmp_path / "secret"
    with_key = environment(GITBLOBTS_KEY=key_file.read_text().strip())

    ok("add", "-", cwd=store, input=b"hidden", env=with_key)

    assert json.loads(git(store, "show", "HEAD:.gitblobts.json"))["cipher"] == "aes256gcm"
    assert ok("ls", cwd=store).lines[0].endswith(".v2.zst.aes256gcm")  # ls needs no key
    assert ok("get", "--cat", "--key-file", str(key_file), cwd=store).output == b"hidden"
    assert ok("get", "--cat", cwd=store, env=with_key).output == b"hidden"


def test_the_key_file_can_be_standard_input(tmp_path: Path, key_file: Path) -> None:
    ok("init", "secret", "--key-file", str(key_file), cwd=tmp_path)
    (tmp_path / "data").write_bytes(b"hidden")
    store = tmp_path / "secret"

    ok("add", "../data", "--key-file", "-", cwd=store, input=key_file.read_bytes())

    assert ok("get", "--cat", "--key-file", "-", cwd=store, input=key_file.read_bytes()).output == (
        b"hidden"
    )


def test_an_encrypted_store_says_how_to_give_the_key(tmp_path: Path, key_file: Path) -> None:
    ok("init", "secret", "--key-file", str(key_file), cwd=tmp_path)

    assert_fails(run("add", "-", cwd=tmp_path / "secret"), 1, "--key-file", "GITBLOBTS_KEY")


def test_add_with_a_key_to_a_store_created_without_one_is_refused(
    tmp_path: Path, key_file: Path
) -> None:
    ok("init", "plain", cwd=tmp_path)
    store = tmp_path / "plain"
    other_key = tmp_path / "key2"
    other_key.write_text(ok("keygen", cwd=tmp_path).stdout)
    before = commits(store)

    for key in (key_file, other_key):
        result = run("add", "-", "--key-file", str(key), cwd=store, input=b"x")
        assert_fails(result, 1, str(store), "created without encryption", "without the key")

    assert commits(store) == before
    assert json.loads(git(store, "show", "HEAD:.gitblobts.json"))["cipher"] is None
    ok("add", "-", cwd=store, input=b"plain")
    assert ok("get", "--cat", "--key-file", str(key_file), cwd=store).output == b"plain"


def test_a_wrong_key_fails(tmp_path: Path, key_file: Path) -> None:
    ok("init", "secret", "--key-file", str(key_file), cwd=tmp_path)
    wrong = environment(GITBLOBTS_KEY=ok("keygen", cwd=tmp_path).stdout)

    result = run("get", "--cat", cwd=tmp_path / "secret", env=wrong)

    assert_fails(result, 1, "does not match")
    assert wrong["GITBLOBTS_KEY"].strip() not in result.stderr


def test_an_invalid_key_file_is_named_and_its_content_not_shown(
    tmp_path: Path, store: Path
) -> None:
    (tmp_path / "bad-key").write_text("not-a-key-but-a-secret\n")

    result = run("get", "--cat", "--key-file", str(tmp_path / "bad-key"), cwd=store)

    assert_fails(result, 1, "bad-key")
    assert "not-a-key-but-a-secret" not in result.stderr


def test_there_is_no_option_that_takes_the_key_itself(store: Path) -> None:
    secret = generate_key().decode("ascii")
    commits = git(store, "rev-list", "--all")

    for command in (("add", "-"), ("get", "--cat")):
        result = run(*command, "--key", secret, cwd=store)  # --key names a stream

        assert_fails(result, 2, "--key-file")
    assert git(store, "rev-list", "--all") == commits  # nothing was added


# add


def test_add_makes_one_commit_for_all_files(tmp_path: Path, store: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode())
    before = commits(store)

    result = ok("add", "../a", str(tmp_path / "b"), "../c", cwd=store)

    assert commits(store) == before + 1
    assert len(result.lines) == 3
    assert sorted(b.blob for b in Store(store).getblobs()) == [b"a", b"b", b"c"]


def test_dash_c_names_the_store_and_files_are_taken_from_the_current_folder(
    tmp_path: Path, store: Path
) -> None:
    (tmp_path / "data.txt").write_bytes(b"beside the store")

    ok("-C", "store", "add", "data.txt", cwd=tmp_path)
    ok("-C", "store", "get", "-o", "out", cwd=tmp_path)

    assert [b.blob for b in Store(store).getblobs()] == [b"beside the store"]
    assert [p.read_bytes() for p in (tmp_path / "out").iterdir()] == [b"beside the store"]


def test_add_dash_reads_standard_input(store: Path) -> None:
    ok("add", "-", cwd=store, input=b"\x00binary\xff")

    assert [b.blob for b in Store(store).getblobs()] == [b"\x00binary\xff"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("1700000000.123456789", "2023-11-14T22:13:20.123456789Z"),
        ("1700000000", "2023-11-14T22:13:20.000000000Z"),
        ("2026-11-24T06:15:00.5Z", "2026-11-24T06:15:00.500000000Z"),
        ("2026-11-24T08:15:00+02:00", "2026-11-24T06:15:00.000000000Z"),
    ],
)
def test_add_time_takes_epoch_seconds_and_iso_times(store: Path, when: str, expected: str) -> None:
    ok("add", "-", "--time", when, cwd=store, input=b"x")

    assert blob_times(store) == [expected]


def test_add_time_takes_relative_times(store: Path) -> None:
    before = time.time()
    ok("add", "-", "--time", "2 hours ago", cwd=store, input=b"x")

    (blob,) = Store(store).getblobs()
    assert before - 7201 <= blob.timestamp <= time.time() - 7199


def test_add_without_time_is_now(store: Path) -> None:
    before = time.time()
    ok("add", "-", cwd=store, input=b"x")

    (blob,) = Store(store).getblobs()
    assert before - 1 <= blob.timestamp <= time.time() + 1


def test_add_no_push_leaves_the_commit_unpushed(tmp_path: Path, remote: Path) -> None:
    ok("init", "one", "--remote", str(remote), cwd=tmp_path)

    ok("add", "-", "--no-push", cwd=tmp_path / "one", input=b"later")

    assert "unpushed:    1 commit" in ok("status", cwd=tmp_path / "one").stdout


def test_add_with_an_unreachable_remote_commits_and_warns(store: Path) -> None:
    git(store, "remote", "add", "origin", "git://127.0.0.1:1/blobs.git")
    before = commits(store)

    result = run("add", "-", cwd=store, input=b"x")

    assert result.status == 0
    assert result.stderr.startswith("gitblobts: warning: ")
    assert "not pushed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert commits(store) == before + 1


# ls


def test_ls_lists_oldest_first_and_newest_first_when_start_is_after_end(store: Path) -> None:
    add_blobs(store, {1_700_000_003: b"x", 1_700_000_001: b"y", 1_700_000_002: b"z"})

    ascending = blob_times(store)
    descending = [
        LS_LINE.fullmatch(line)[1]  # type: ignore[index]
        for line in ok("ls", "--start", "now", "--end", "0", cwd=store).lines
    ]

    assert ascending == sorted(ascending)
    assert len(ascending) == 3
    assert descending == ascending[::-1]


def test_ls_limits_to_the_range_inclusive(store: Path) -> None:
    add_blobs(store, {1_700_000_001: b"x", 1_700_000_002: b"y", 1_700_000_003: b"z"})

    result = ok("ls", "--start", "1700000002", "--end", "1700000003", cwd=store)

    assert [line[:19] for line in result.lines] == ["2023-11-14T22:13:22", "2023-11-14T22:13:23"]


def test_ls_shows_the_stored_size_and_path(store: Path) -> None:
    add_blobs(store, {1_700_000_000: b"x" * 1000})

    (line,) = ok("ls", cwd=store).lines
    listed = LS_LINE.fullmatch(line)

    assert listed is not None
    path = listed[3]
    stored = git_bytes(store, "cat-file", "blob", f"HEAD:{path}")
    assert int(listed[2]) == len(stored) < 1000  # zstd stored it smaller


def test_ls_json_writes_one_object_per_line(store: Path) -> None:
    add_blobs(store, {1_700_000_000.5: b"x"})

    (line,) = ok("ls", "--json", cwd=store).lines
    document = json.loads(line)

    assert set(document) == {"time", "timestamp_ns", "size", "path"}
    assert document["time"] == "2023-11-14T22:13:20.500000000Z"
    assert document["timestamp_ns"] == 1_700_000_000_500_000_000
    assert document["size"] > 0


def test_ls_into_a_pipe_closed_early_stops_quietly(store: Path) -> None:
    add_blobs(store, dict.fromkeys(range(3000), b"x"))
    line = f"{shlex.join(COMMAND)} ls 2>errors | head -n 1"

    result = subprocess.run(
        ["sh", "-c", line], cwd=store, env=environment(), capture_output=True, text=True
    )

    assert len(result.stdout.splitlines()) == 1
    assert (store / "errors").read_text() == ""


# get


def test_get_output_names_each_file_by_its_blobs_stored_name(tmp_path: Path, store: Path) -> None:
    Store(store).addblobs(
        [b"first", b"second", b"third"],
        [Nanoseconds(1_700_000_000 * SECOND)] * 2 + [Nanoseconds(1_700_000_001 * SECOND)],
    )
    out = tmp_path / "out"

    result = ok("get", "--output", str(out), cwd=store)

    assert "wrote 3 blobs" in result.stderr
    stored = {
        p.split("/")[-1].split(".v2.")[0]: p
        for p in (line.split()[2] for line in ok("ls", cwd=store).lines)
    }
    assert sorted(p.name for p in out.iterdir()) == sorted(stored)
    contents = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(contents.values()) == [b"first", b"second", b"third"]
    assert all(
        name.startswith(("20231114T221320.000000000Z_", "20231114T221321.000000000Z_"))
        for name in contents
    )


def test_get_output_creates_the_folder(store: Path) -> None:
    add_blobs(store, {1_700_000_000: b"x"})

    ok("get", "-o", "new/folder", cwd=store)

    assert [p.read_bytes() for p in (store / "new" / "folder").iterdir()] == [b"x"]


@pytest.mark.parametrize("option", [["--cat"], ["--output", "-"]])
def test_get_cat_concatenates_blobs_in_query_order(store: Path, option: list[str]) -> None:
    add_blobs(store, {1_700_000_002: b"b", 1_700_000_001: b"a", 1_700_000_003: b"c"})

    assert ok("get", *option, cwd=store).output == b"abc"
    assert ok("get", *option, "--start", "now", "--end", "0", cwd=store).output == b"cba"


def test_get_needs_a_destination(store: Path) -> None:
    assert_fails(run("get", cwd=store), 2, "--output")


# Remotes


def test_push_and_pull_through_a_local_bare_remote(tmp_path: Path, remote: Path) -> None:
    ok("init", "one", "--remote", str(remote), cwd=tmp_path)
    ok("init", "two", "--remote", str(remote), cwd=tmp_path)
    ok("add", "-", "--no-push", cwd=tmp_path / "one", input=b"shared")

    ok("push", cwd=tmp_path / "one")
    ok("pull", cwd=tmp_path / "two")

    assert ok("get", "--cat", cwd=tmp_path / "two").output == b"shared"
    assert "unpushed:    0 commits" in ok("status", cwd=tmp_path / "one").stdout


def test_push_without_a_remote_says_how_to_add_one(store: Path) -> None:
    assert_fails(run("push", cwd=store), 1, "git remote add")
    assert_fails(run("pull", cwd=store), 1, "git remote add")


# status, verify, plugins


def test_status_shows_branch_remote_unpushed_count_and_configuration(
    tmp_path: Path, remote: Path
) -> None:
    ok("init", "one", "--remote", str(remote), "--compression", "bz2", cwd=tmp_path)
    ok("add", "-", "--no-push", cwd=tmp_path / "one", input=b"x")

    fields = dict(line.split(":", 1) for line in ok("status", cwd=tmp_path / "one").lines)
    status = {name: value.strip() for name, value in fields.items()}

    assert status["branch"] == "main"
    assert status["remote"] == f"origin {remote} (main)"
    assert status["unpushed"] == "1 commit"
    assert status["blobs"] == "1"
    assert (status["layout"], status["compression"], status["cipher"]) == (
        "20-second",
        "bz2",
        "none",
    )
    assert status["configured"] == "yes"


def test_status_never_shows_a_password_in_a_remote_url(store: Path) -> None:
    git(store, "remote", "add", "origin", "https://user:hunter2@example.invalid/blobs.git")

    result = ok("status", cwd=store)

    assert "hunter2" not in result.stdout
    assert "https://***@example.invalid/blobs.git" in result.stdout


def test_verify_of_a_sound_store_succeeds(store: Path) -> None:
    add_blobs(store, {1_700_000_000: b"x"})

    result = ok("verify", cwd=store)

    assert result.stdout == ""
    assert result.stderr == "2 files checked, no problems\n"


def test_verify_lists_a_damaged_file_and_fails(store: Path) -> None:
    add_blobs(store, {1_700_000_000: b"good"})
    damaged = "2023/11/14/22/20231114T221320.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.zst"
    oid = git(store, "hash-object", "-w", "--stdin", input=b"garbage").strip()
    git(store, "update-index", "--add", "--cacheinfo", f"100644,{oid},{damaged}")
    git(store, "commit", "--quiet", "-m", "damage")

    result = run("verify", cwd=store)

    assert_fails(result, 1, "1 problem in 3 files")
    assert result.stdout.startswith(f"{damaged}: cannot decompress")


def test_plugins_lists_the_built_in_plugins_and_what_they_provide(tmp_path: Path) -> None:
    listing = ok("plugins", cwd=tmp_path, env=environment(GITBLOBTS_PLUGINS="")).stdout

    for expected in (
        "codecs (gitblobts ",
        "  codec: none, gzip, bz2, lzma, zstd",
        "  cipher: aes256gcm, fernet",
        "  backend: dulwich",
        "  backend: git",
        "  time parser: pendulum",
    ):
        assert expected in listing
    assert re.search(r"^  layout: .*\bflat\b.*\bhourly\b", listing, re.MULTILINE)


# Failures


def test_a_missing_file_fails_naming_it_and_adds_nothing(store: Path) -> None:
    before = commits(store)

    assert_fails(run("add", "-", "missing.txt", cwd=store, input=b"x"), 1, "missing.txt")
    assert commits(store) == before


def test_a_folder_that_is_not_a_repository_fails(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()

    assert_fails(run("-C", "plain", "ls", cwd=tmp_path), 1, "plain", "not a git repository")
    assert_fails(run("-C", "nowhere", "ls", cwd=tmp_path), 1, "nowhere")


def test_an_unreadable_repository_fails(store: Path) -> None:
    (store / ".git" / "HEAD").write_text("garbage\n")

    assert_fails(run("ls", cwd=store), 1)


def test_a_bad_time_string_fails_quoting_it(store: Path) -> None:
    assert_fails(run("ls", "--start", "half past never", cwd=store), 1, "'half past never'")
    assert_fails(run("add", "-", "--time", "99999999999999", cwd=store), 1, "99999999999999")


def test_usage_errors_exit_with_status_2(store: Path) -> None:
    assert_fails(run(cwd=store), 2)
    assert_fails(run("frobnicate", cwd=store), 2)
    assert_fails(run("ls", "--no-such-option", cwd=store), 2)
    assert_fails(run("add", "-", "-", cwd=store), 2, "only once")


def test_debug_shows_the_traceback(store: Path) -> None:
    result = run("--debug", "ls", "--start", "half past never", cwd=store)

    assert result.status == 1
    assert "Traceback" in result.stderr
    assert "TimeError" in result.stderr


# Progress


def test_a_progress_bar_is_drawn_on_a_terminal_and_only_there(tmp_path: Path, store: Path) -> None:
    files = tmp_path / "many"
    files.mkdir()
    for number in range(300):
        (files / f"{number:03d}").write_bytes(b"%d" % number)
    names = sorted(str(path) for path in files.iterdir())

    on_terminal = stderr_on_terminal([*COMMAND, "add", *names], cwd=store)
    on_pipe = ok("add", *names[:10], cwd=store)

    assert "adding [" in on_terminal
    assert "#" * 20 in on_terminal
    assert "100%  790 B/790 B" in on_terminal  # the bytes of the 300 files
    assert on_pipe.stderr == ""
    assert len(list(Store(store).getblobs())) == 310
