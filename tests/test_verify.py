"""Store.verify: every file of the store is read and checked, and every problem reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

import gitblobts
from gitblobts import KeyRequiredError, Nanoseconds, Problem, Store

KEY = gitblobts.generate_key()
BASE = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z
BLOB_NAME = "20231114T221320.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.zst"


def commit_file(repo: Path, path: str, content: bytes) -> None:
    """Commit ``content`` at ``path`` with git, beside the store."""
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)
    git(repo, "add", path)
    git(repo, "commit", "--quiet", "-m", f"add {path}")


def test_a_sound_store_has_no_problems_and_every_file_is_checked(repo: Path) -> None:
    store = Store(repo, key=KEY)
    store.addblobs([b"a", b"b", b"c"], [Nanoseconds(BASE + i * 3600 * 10**9) for i in range(3)])

    report = store.verify()

    assert report.ok
    assert report.problems == ()
    assert report.checked == 4  # three blobs and .gitblobts.json


def test_an_empty_repository_is_sound(new_repo: object) -> None:
    report = Store(new_repo("empty")).verify()  # type: ignore[operator]

    assert (report.checked, report.ok) == (0, True)


def test_a_file_that_does_not_decompress_is_reported_by_path(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"good", Nanoseconds(BASE))
    path = f"2023/11/14/22/{BLOB_NAME}"
    commit_file(repo, path, b"not zstd at all")

    report = store.verify()

    assert [problem.path for problem in report.problems] == [path]
    assert "cannot decompress" in report.problems[0].reason
    assert report.checked == 3


def test_a_file_that_does_not_decrypt_is_reported(repo: Path) -> None:
    store = Store(repo, key=KEY)
    store.addblob(b"good", Nanoseconds(BASE))
    path = f"2023/11/14/22/{BLOB_NAME}.aes256gcm"
    commit_file(repo, path, b"\x00" * 64)

    (problem,) = store.verify().problems

    assert problem.path == path
    assert "cannot decrypt" in problem.reason


def test_checking_goes_on_after_a_problem(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"good", Nanoseconds(BASE))
    first = f"2023/11/14/22/{BLOB_NAME}"
    second = f"2023/11/14/22/{BLOB_NAME.replace('aaaa', 'bbbb')}"
    commit_file(repo, first, b"garbage")
    commit_file(repo, second, b"more garbage")

    assert [problem.path for problem in store.verify().problems] == [first, second]


def test_a_blob_outside_its_layout_folder_is_reported_as_misplaced(repo: Path) -> None:
    store = Store(repo)
    (ref,) = store.addblobs([b"x"], [Nanoseconds(BASE)])
    moved = f"elsewhere/{ref.path.rpartition('/')[2]}"
    (repo / "elsewhere").mkdir()
    git(repo, "mv", ref.path, moved)
    git(repo, "commit", "--quiet", "-m", "move")

    (problem,) = store.verify().problems

    assert problem.path == moved
    assert "misplaced" in problem.reason
    assert ref.path in problem.reason


def test_a_file_among_blobs_that_is_not_a_blob_is_reported(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"x", Nanoseconds(BASE))
    commit_file(repo, "2023/11/14/22/notes.txt", b"hello")

    assert store.verify().problems == (Problem("2023/11/14/22/notes.txt", "not a blob file name"),)


def test_other_files_of_the_repository_are_left_alone(repo: Path) -> None:
    store = Store(repo)  # the repository has README.md and .gitattributes at its root
    store.addblob(b"x", Nanoseconds(BASE))
    commit_file(repo, "docs/guide.md", b"# Guide\n")

    report = store.verify()

    assert report.ok
    assert report.checked == 2


def test_an_invalid_configuration_committed_since_opening_is_reported(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"x", Nanoseconds(BASE))
    commit_file(repo, ".gitblobts.json", b'{"format": "gitblobts", "version": 2}')

    (problem,) = store.verify().problems

    assert problem.path == ".gitblobts.json"
    assert "layout" in problem.reason


def test_an_encrypted_store_needs_the_key_rather_than_reporting_every_file(repo: Path) -> None:
    Store(repo, key=KEY).addblobs([b"a", b"b"])

    with pytest.raises(KeyRequiredError, match="needs its key"):
        Store(repo).verify()


def test_progress_counts_every_checked_file(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([b"a", b"b", b"c"], [Nanoseconds(BASE)] * 3)
    calls: list[tuple[int, int]] = []

    store.verify(progress=lambda checked, total: calls.append((checked, total)))

    assert calls[0] == (0, 4)
    assert calls[-1] == (4, 4)
    assert [checked for checked, _ in calls] == sorted(checked for checked, _ in calls)


def test_a_problem_reads_as_path_and_reason() -> None:
    assert str(Problem("2023/x.v2", "cannot decompress")) == "2023/x.v2: cannot decompress"
