"""Store.verify: every file of the store is read and checked, and every problem reported."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import KeyRequiredError, Nanoseconds, Problem, RepositoryError, Store
from gitblobts.core.keys import decode_key
from gitblobts.plugins.ciphers import Aes256GcmCipher
from tests.helpers.git import git, git_bytes, make_repo
from tests.helpers.plumbing import (
    commit_entries,
    hash_object,
    loose_object,
    object_ids,
    overwrite,
    pack_objects,
    packed_object,
)

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
    commit_file(repo, "2023/11/14/22/1320/notes.txt", b"hello")

    assert store.verify().problems == (
        Problem("2023/11/14/22/1320/notes.txt", "not a blob file name"),
    )


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


def test_an_encrypted_file_planted_in_a_store_without_encryption_is_one_problem(
    repo: Path, new_repo: Callable[[str], Path]
) -> None:
    store = Store(repo)
    store.addblob(b"plain", Nanoseconds(BASE))
    other = new_repo("non-bare")
    planted = Store(other, key=KEY).addblob(b"secret", Nanoseconds(BASE + 1))
    garbage = f"2023/11/14/22/{BLOB_NAME.replace('aaaa', 'bbbb')}"
    commit_file(repo, planted.path, (other / planted.path).read_bytes())
    commit_file(repo, garbage, b"not zstd at all")

    report = store.verify()

    problems = {problem.path: problem.reason for problem in report.problems}
    assert sorted(problems) == sorted([planted.path, garbage])
    assert "encrypted, and no key was given" in problems[planted.path]
    assert "cannot decompress" in problems[garbage]
    assert report.checked == 4


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


# Damaged git objects. The repositories are made without the fixture that runs git fsck on
# them afterwards: fsck would (rightly) fail.


SECOND = 10**9
FOLDER = "2023/11/14/22/1320"
"""The folder of BASE and the 19 seconds after it (the default layout's, ``20-second``)."""


def loose_store(root: Path, count: int = 3, key: bytes | None = None) -> tuple[Path, list[str]]:
    """A bare repository whose store holds ``count`` blobs, each added alone (so each is a
    loose object); returns it and the blobs' paths."""
    repo = make_repo(root, "bare")
    store = Store(repo, key=key)
    paths = [
        store.addblob(b"blob %d" % i, Nanoseconds(BASE + i * SECOND)).path for i in range(count)
    ]
    return repo, paths


def packed_store(root: Path, count: int = 20) -> tuple[Path, list[str]]:
    """A bare repository whose store holds ``count`` blobs, in a pack of their own."""
    repo = make_repo(root, "bare")
    refs = Store(repo).addblobs(
        [b"packed blob %d" % i for i in range(count)],
        [Nanoseconds(BASE + i * SECOND) for i in range(count)],
    )
    paths = [ref.path for ref in refs]
    ids = object_ids(repo)
    pack_objects(repo, [ids[path] for path in paths])
    return repo, paths


def garbage(path: Path) -> None:
    overwrite(path, zlib.compress(b"no object header here"))


def not_zlib(path: Path) -> None:
    overwrite(path, b"\x00not zlib at all" * 4)


def truncated(path: Path) -> None:
    overwrite(path, path.read_bytes()[: path.stat().st_size // 2])


def missing(path: Path) -> None:
    path.unlink()


def other_content(path: Path) -> None:
    overwrite(path, zlib.compress(b"blob 11\x00other bytes"))


UNREADABLE = "cannot read its object: "
OTHER_BYTES = "holds other bytes than its id says"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (garbage, UNREADABLE),
        (not_zlib, UNREADABLE),
        (truncated, UNREADABLE),
        (missing, UNREADABLE),
        (other_content, f"{UNREADABLE}|{OTHER_BYTES}"),
    ],
)
def test_a_damaged_loose_object_is_reported_by_the_path_of_its_file(
    tmp_path: Path, damage: Callable[[Path], None], reason: str
) -> None:
    repo, paths = loose_store(tmp_path)
    damage(loose_object(repo, object_ids(repo)[paths[1]]))

    report = Store(repo).verify()

    assert [problem.path for problem in report.problems] == [paths[1]]
    assert re.search(reason, report.problems[0].reason)
    assert report.checked == 4


def test_a_loose_object_swapped_for_another_valid_blob_file_is_reported(tmp_path: Path) -> None:
    repo, paths = loose_store(tmp_path)
    ids = object_ids(repo)
    overwrite(loose_object(repo, ids[paths[1]]), loose_object(repo, ids[paths[2]]).read_bytes())

    (problem,) = Store(repo).verify().problems

    assert problem.path == paths[1]
    assert re.search(f"{UNREADABLE}|{OTHER_BYTES}", problem.reason)


def test_flipped_bytes_in_a_packed_object_are_reported_and_the_others_checked(
    tmp_path: Path,
) -> None:
    repo, paths = packed_store(tmp_path)
    pack, start, end = packed_object(repo, object_ids(repo)[paths[7]])
    data = bytearray(pack.read_bytes())
    for position in range(start + 4, end - 2):
        data[position] ^= 0x5A
    overwrite(pack, bytes(data))

    report = Store(repo).verify()

    assert [problem.path for problem in report.problems] == [paths[7]]
    assert report.problems[0].reason.startswith(UNREADABLE)
    assert report.checked == 21


def test_a_pack_index_entry_pointing_elsewhere_is_reported(tmp_path: Path) -> None:
    repo, paths = packed_store(tmp_path)
    oid = object_ids(repo)[paths[7]]
    pack, start, _ = packed_object(repo, oid)
    index = pack.with_suffix(".idx")
    data = bytearray(index.read_bytes())
    count = int.from_bytes(data[1028:1032], "big")
    position = [data[1032 + 20 * i : 1052 + 20 * i].hex() for i in range(count)].index(oid)
    offset = 1032 + 24 * count + 4 * position  # after the ids and their CRCs
    data[offset : offset + 4] = (start + 3).to_bytes(4, "big")
    overwrite(index, bytes(data))

    report = Store(repo).verify()

    assert [problem.path for problem in report.problems] == [paths[7]]
    assert report.checked == 21


def test_a_truncated_pack_reports_each_blob_it_lost_and_checks_the_others(
    tmp_path: Path,
) -> None:
    repo, paths = packed_store(tmp_path)
    ids = object_ids(repo)
    pack, cut, _ = packed_object(repo, ids[paths[10]])
    overwrite(pack, pack.read_bytes()[:cut])

    report = Store(repo).verify()

    reported = [problem.path for problem in report.problems]
    assert set(paths[10:]) <= set(reported) <= set(paths)  # git gives up on the whole pack
    assert all(problem.reason.startswith(UNREADABLE) for problem in report.problems)
    assert report.checked == 21


def test_a_folder_whose_tree_is_damaged_is_reported_and_the_rest_checked(
    tmp_path: Path,
) -> None:
    repo, _ = loose_store(tmp_path)
    Store(repo).addblob(b"a day later", Nanoseconds(BASE + 24 * 3600 * SECOND))
    garbage(loose_object(repo, git(repo, "rev-parse", f"HEAD:{FOLDER}").strip()))

    report = Store(repo).verify()

    (problem,) = report.problems
    assert problem.path == FOLDER
    assert problem.reason.startswith("cannot read the folder: ")
    assert report.checked == 2  # the configuration, and the blob a day later


def test_every_kind_of_damage_at_once_is_reported_by_path_and_the_rest_checked(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, "bare")
    store = Store(repo, key=KEY)
    packed = [
        ref.path
        for ref in store.addblobs(
            [b"packed %d" % i for i in range(20)],
            [Nanoseconds(BASE + i * SECOND) for i in range(20)],
        )
    ]
    ids = object_ids(repo)
    pack_objects(repo, [ids[path] for path in packed])
    loose = [
        store.addblob(b"loose %d" % i, Nanoseconds(BASE + (30 + i) * SECOND)).path for i in range(5)
    ]
    ids = object_ids(repo)  # the loose blobs' too
    cipher = Aes256GcmCipher(decode_key(KEY))
    bad_frame = f"{FOLDER}/20231114T221335.000000000Z_{'b' * 26}.v2.zst.aes256gcm"
    sealed = cipher.encrypt(b"not a zstd frame", bad_frame.rpartition("/")[2][:53].encode())
    bad_tag = packed[3]
    tag_flipped = bytearray(git_bytes(repo, "cat-file", "blob", ids[bad_tag]))
    tag_flipped[-1] ^= 1
    commit_entries(
        repo,
        {
            f"{FOLDER}/notes.txt": (0o100644, hash_object(repo, b"hello")),
            bad_frame: (0o100644, hash_object(repo, sealed)),
            bad_tag: (0o100644, hash_object(repo, bytes(tag_flipped))),
        },
    )
    garbage(loose_object(repo, ids[loose[0]]))
    truncated(loose_object(repo, ids[loose[1]]))
    other_content(loose_object(repo, ids[loose[2]]))
    missing(loose_object(repo, ids[loose[3]]))
    pack, start, end = packed_object(repo, ids[packed[9]])
    data = bytearray(pack.read_bytes())
    data[(start + end) // 2] ^= 0xFF
    overwrite(pack, bytes(data))

    report = Store(repo, key=KEY).verify()

    found = {problem.path: problem.reason for problem in report.problems}
    assert sorted(found) == sorted(
        [f"{FOLDER}/notes.txt", bad_frame, bad_tag, *loose[:4], packed[9]]
    )
    assert found[f"{FOLDER}/notes.txt"] == "not a blob file name"
    assert "cannot decompress" in found[bad_frame]
    assert "cannot decrypt" in found[bad_tag]
    for path in [*loose[:2], loose[3], packed[9]]:
        assert found[path].startswith(UNREADABLE)
    assert re.search(f"{UNREADABLE}|{OTHER_BYTES}", found[loose[2]])
    assert report.checked == 1 + 20 + 5 + 2  # the configuration, the blobs, two added files


@pytest.mark.parametrize("damage", [garbage, missing])
def test_a_branch_whose_commit_cannot_be_read_is_an_error_not_an_empty_store(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    repo, _ = loose_store(tmp_path)
    commit = git(repo, "rev-parse", "HEAD").strip()
    damage(loose_object(repo, commit))

    with pytest.raises(RepositoryError, match=commit):
        Store(repo).verify()


# Blobs the branch lost


def test_a_blob_a_user_s_commit_removed_is_reported_with_the_commit_and_how_to_restore_it(
    repo: Path,
) -> None:
    store = Store(repo)
    _, lost = store.addblobs([b"kept", b"lost"], [Nanoseconds(BASE), Nanoseconds(BASE + 1)])
    git(repo, "rm", "--quiet", lost.path)
    git(repo, "commit", "--quiet", "-m", "Tidy up")
    commit = git(repo, "rev-parse", "HEAD").strip()

    (problem,) = store.verify().problems

    assert problem.path == lost.path
    assert f"lost: commit {commit} ('Tidy up') removed it" in problem.reason
    assert f"git checkout {commit}~1 -- {lost.path}" in problem.reason


def test_a_parted_blob_a_user_s_commit_removed_is_reported_once_by_its_folder(
    repo: Path,
) -> None:
    store = Store(repo, part_size=1024, compression="none")
    _, lost = store.addblobs([b"kept", bytes(3000)], [Nanoseconds(BASE), Nanoseconds(BASE + 1)])
    git(repo, "rm", "--quiet", "-r", lost.path)
    git(repo, "commit", "--quiet", "-m", "Tidy up")
    commit = git(repo, "rev-parse", "HEAD").strip()

    (problem,) = store.verify().problems

    assert problem.path == lost.path
    assert f"lost: commit {commit} ('Tidy up') removed it" in problem.reason
    assert f"git checkout {commit}~1 -- {lost.path}" in problem.reason


def test_a_removed_blob_restored_since_is_not_reported(repo: Path) -> None:
    store = Store(repo)
    (ref,) = store.addblobs([b"x"], [Nanoseconds(BASE)])
    git(repo, "rm", "--quiet", ref.path)
    git(repo, "commit", "--quiet", "-m", "Oops")
    git(repo, "revert", "--no-edit", "HEAD")

    assert store.verify().ok
