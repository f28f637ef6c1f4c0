"""Blobs added to a checked-out branch are staged in git's index as ``git add`` stages them,
whatever state git left the index in; the dulwich backend's :class:`IndexWriter` splices
entries into versions 2 and 3 and hands the rest to a fallback."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import RepositoryError, Store
from gitblobts.gitfiles.index import IndexWriter, NewEntry, Unsupported
from tests.helpers.git import git, make_repo

HOUR = 1577934000
"""2020-01-02T03:00:00Z: blobs added in the 20 seconds after it go into ``2020/01/02/03/0000``
(the default layout, ``20-second``), inside the hour folder ``2020/01/02/03``."""


# Reading an index (versions 2 and 3), to see what was written


def index_of(repo: Path) -> bytes:
    return (repo / ".git" / "index").read_bytes()


def index_version(repo: Path) -> int:
    version: int = struct.unpack_from(">I", index_of(repo), 4)[0]
    return version


def extensions(data: bytes) -> dict[bytes, bytes]:
    """An index's extensions, signature to body, in order."""
    (count,) = struct.unpack_from(">I", data, 8)
    position = 12
    for _ in range(count):
        (flags,) = struct.unpack_from(">H", data, position + 60)
        name_start = position + 62 + (2 if flags & 0x4000 else 0)
        name_end = data.index(b"\0", name_start)
        position = name_end + 8 - (name_end - position) % 8
    found: dict[bytes, bytes] = {}
    while position < len(data) - 20:
        signature = data[position : position + 4]
        (size,) = struct.unpack_from(">I", data, position + 4)
        found[signature] = data[position + 8 : position + 8 + size]
        position += 8 + size
    return found


def cached_trees(tree_extension: bytes) -> dict[str, str | None]:
    """The cache of trees: each folder's path to its tree id, ``None`` where invalidated."""
    trees: dict[str, str | None] = {}

    def read(position: int, parent: str | None) -> int:
        name_end = tree_extension.index(b"\0", position)
        line_end = tree_extension.index(b"\n", name_end)
        count, subtrees = map(int, tree_extension[name_end + 1 : line_end].split(b" "))
        name = tree_extension[position:name_end].decode()
        path = name if not parent else f"{parent}/{name}"
        position = line_end + 1
        trees[path] = None if count < 0 else tree_extension[position : position + 20].hex()
        position += 0 if count < 0 else 20
        for _ in range(subtrees):
            position = read(position, path)
        return position

    read(0, None)
    return trees


def status(repo: Path) -> list[str]:
    return git(repo, "status", "--porcelain").splitlines()


def staged(repo: Path) -> list[str]:
    """``git ls-files -s``: mode, id, stage and path of every entry."""
    return git(repo, "ls-files", "-s").splitlines()


def commit_files(repo: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into the working tree and commit them with git."""
    for path, content in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    git(repo, "add", "--", *files)
    git(repo, "commit", "--quiet", "-m", "Files")


def work_file(repo: Path, path: str, content: bytes) -> NewEntry:
    """A file written to the working tree and to the object store, ready to be added."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    oid = git(repo, "hash-object", "-w", "--", path).strip()
    return NewEntry(path.encode(), bytes.fromhex(oid), os.lstat(target), 0o100644)


def splice(repo: Path, writer: IndexWriter, entries: list[NewEntry]) -> None:
    """Add ``entries`` as the dulwich backend does: into ``index.lock``, renamed into place."""
    index = repo / ".git" / "index"
    lock = Path(f"{index}.lock")
    with open(lock, "xb") as out:
        writer.add(entries, out)
    os.replace(lock, index)
    writer.written()


def refused(repo: Path, entries: list[NewEntry]) -> str:
    """Try to splice ``entries``; return why it was refused, having checked nothing was
    written and the index is untouched."""
    index = repo / ".git" / "index"
    before = index.read_bytes()
    lock = Path(f"{index}.lock")
    with open(lock, "xb") as out, pytest.raises(Unsupported) as raised:
        IndexWriter(str(index)).add(entries, out)
    assert lock.stat().st_size == 0
    lock.unlink()
    assert index.read_bytes() == before
    return str(raised.value)


def make_conflict(repo: Path) -> None:
    """Leave README.md conflicted by a merge."""
    git(repo, "checkout", "--quiet", "-b", "other")
    commit_files(repo, {"README.md": b"theirs\n"})
    git(repo, "checkout", "--quiet", "main")
    commit_files(repo, {"README.md": b"ours\n"})
    result = git_may_fail(repo, "merge", "--quiet", "other")
    assert "CONFLICT" in result


def git_may_fail(repo: Path, *args: str) -> str:
    """Run git, which may fail; return what it printed."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return (result.stdout + result.stderr).decode()


@pytest.fixture
def nested(repo: Path) -> Path:
    """A repository whose index git wrote with a few hundred files in nested folders, among
    them the folder of :data:`HOUR`, and a complete cache of trees (``git commit`` makes it)."""
    files = {
        f"2020/01/{day:02d}/{hour:02d}/file{n}.txt": b"%d %d %d\n" % (day, hour, n)
        for day in range(1, 4)
        for hour in range(24)
        for n in range(3)
    }
    files |= {f"docs/part{n}/page.md": b"page %d\n" % n for n in range(20)}
    commit_files(repo, files)
    assert b"TREE" in extensions(index_of(repo))
    return repo


# Through a store, on either backend


def test_added_blobs_are_staged_as_committed(repo: Path) -> None:
    store = Store(repo)
    refs = [store.addblob(b"one"), *store.addblobs([b"two", b"three"])]

    assert status(repo) == []
    git(repo, "diff", "--cached", "--quiet")
    git(repo, "diff", "--quiet")
    entries = staged(repo)
    for ref in refs:
        oid = git(repo, "rev-parse", f"HEAD:{ref.path}").strip()
        assert f"100644 {oid} 0\t{ref.path}" in entries


def test_a_store_in_a_repository_without_an_index_creates_one_git_reads(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("empty")
    assert not (path / ".git" / "index").exists()

    ref = Store(path).addblob(b"first")

    assert status(path) == []
    assert ref.path in git(path, "ls-files")


def test_adding_into_a_cached_folder_leaves_the_index_tree_equal_to_head(nested: Path) -> None:
    store = Store(nested)

    refs = store.addblobs([b"a", b"b"], [HOUR + 1, HOUR + 2])

    assert {ref.path.rsplit("/", 1)[0] for ref in refs} == {"2020/01/02/03/0000"}
    assert git(nested, "write-tree").strip() == git(nested, "rev-parse", "HEAD^{tree}").strip()
    assert status(nested) == []
    git(nested, "diff", "--cached", "--quiet", "HEAD")


def test_git_commits_nothing_after_an_add(nested: Path) -> None:
    Store(nested).addblob(b"a", HOUR)

    assert "nothing to commit, working tree clean" in git_may_fail(nested, "commit", "-m", "x")


def test_an_intent_to_add_entry_of_a_version_3_index_is_kept(repo: Path) -> None:
    (repo / "notes.txt").write_text("not yet\n")
    git(repo, "add", "--intent-to-add", "notes.txt")
    assert index_version(repo) == 3

    ref = Store(repo).addblob(b"one")

    assert status(repo) == [" A notes.txt"]
    assert {"notes.txt", ref.path} <= set(git(repo, "ls-files").splitlines())
    assert index_version(repo) == 3


def test_an_index_of_version_4_is_added_to(repo: Path) -> None:
    git(repo, "update-index", "--index-version", "4")

    ref = Store(repo).addblob(b"one")

    assert status(repo) == []
    assert ref.path in git(repo, "ls-files")


def test_an_index_with_an_untracked_cache_is_added_to(repo: Path) -> None:
    git(repo, "update-index", "--untracked-cache")
    (repo / "untracked.txt").write_text("mine\n")
    assert status(repo) == ["?? untracked.txt"]

    Store(repo).addblob(b"one")

    assert status(repo) == ["?? untracked.txt"]


def test_the_untracked_cache_git_maintains_stays_enabled(repo: Path) -> None:
    git(repo, "config", "core.untrackedCache", "true")
    git(repo, "update-index", "--untracked-cache")
    status(repo)

    Store(repo).addblob(b"one")
    status(repo)

    assert b"UNTR" in extensions(index_of(repo))


def test_a_splice_drops_a_stale_untracked_cache_rather_than_keep_it_unchecked(
    repo: Path,
) -> None:
    # git add invalidates the cache along the added path; the splice does not parse the
    # cache, so it drops it (git rebuilds it when core.untrackedCache is true, as above).
    git(repo, "update-index", "--untracked-cache")
    status(repo)

    Store(repo, backend="dulwich").addblob(b"one")

    assert b"UNTR" not in extensions(index_of(repo))
    assert status(repo) == []


def test_a_file_git_staged_between_two_adds_stays_staged(repo: Path) -> None:
    store = Store(repo)
    first = store.addblob(b"one")
    (repo / "0-mine.txt").write_text("mine\n")
    git(repo, "add", "0-mine.txt")

    second = store.addblob(b"two")

    assert status(repo) == ["A  0-mine.txt"]
    assert {first.path, second.path, "0-mine.txt"} <= set(git(repo, "ls-files").splitlines())


def test_an_add_during_a_merge_conflict_keeps_the_conflict(repo: Path) -> None:
    make_conflict(repo)
    conflict = git(repo, "ls-files", "--unmerged")

    ref = Store(repo).addblob(b"one")

    assert git(repo, "ls-files", "--unmerged") == conflict
    assert status(repo) == ["UU README.md"]
    assert git(repo, "ls-files", "--stage", "--", ref.path).endswith(f" 0\t{ref.path}\n")


def test_an_add_after_a_resolved_conflict_keeps_the_resolve_undo_record(repo: Path) -> None:
    make_conflict(repo)
    (repo / "README.md").write_text("resolved\n")
    git(repo, "add", "README.md")
    resolve_undo = git(repo, "ls-files", "--resolve-undo")
    assert resolve_undo

    Store(repo).addblob(b"one")

    assert git(repo, "ls-files", "--resolve-undo") == resolve_undo
    assert status(repo) == ["M  README.md"]


def test_the_dulwich_backend_keeps_a_zero_index_checksum_git_reads(repo: Path) -> None:
    """``index.skipHash`` (git 2.40) writes a zero trailer; older git writes a checksum but
    reads a zero one, so the trailer is zeroed by hand where git would not."""
    git(repo, "config", "index.skipHash", "true")
    (repo / "mine.txt").write_text("mine\n")
    git(repo, "add", "mine.txt")
    index = repo / ".git" / "index"
    index.write_bytes(index.read_bytes()[:-20] + bytes(20))

    ref = Store(repo, backend="dulwich").addblob(b"one")

    assert index.read_bytes()[-20:] == bytes(20)
    assert status(repo) == ["A  mine.txt"]
    assert ref.path in git(repo, "ls-files")


UNSUPPORTED_BY_DULWICH = {
    "split": ("update-index", "--split-index"),
    "sparse": ("sparse-checkout", "set", "--cone", "--sparse-index", "docs"),
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED_BY_DULWICH))
def test_the_git_backend_adds_to_a_split_or_sparse_index(repo: Path, kind: str) -> None:
    commit_files(repo, {"docs/page.md": b"page\n", "src/code.py": b"pass\n"})
    git(repo, *UNSUPPORTED_BY_DULWICH[kind])

    ref = Store(repo, backend="git").addblob(b"one")

    assert status(repo) == []
    assert ref.path in git(repo, "ls-files", "--", ref.path)


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED_BY_DULWICH))
def test_the_dulwich_backend_names_an_index_it_cannot_update(repo: Path, kind: str) -> None:
    commit_files(repo, {"docs/page.md": b"page\n", "src/code.py": b"pass\n"})
    git(repo, *UNSUPPORTED_BY_DULWICH[kind])

    with pytest.raises(RepositoryError, match=f"{kind}.* index is not supported"):
        Store(repo, backend="dulwich").addblob(b"one")


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED_BY_DULWICH))
def test_an_add_the_dulwich_backend_cannot_stage_commits_nothing(repo: Path, kind: str) -> None:
    commit_files(repo, {"docs/page.md": b"page\n", "src/code.py": b"pass\n"})
    git(repo, *UNSUPPORTED_BY_DULWICH[kind])
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(RepositoryError):
        Store(repo, backend="dulwich").addblob(b"one")

    assert git(repo, "rev-parse", "HEAD") == head
    assert status(repo) == []


# The index writer itself


def test_entries_spliced_at_the_start_middle_and_end_are_read_by_git(repo: Path) -> None:
    commit_files(repo, {"b/one.txt": b"1\n", "d/two.txt": b"2\n"})
    new = [
        work_file(repo, path, path.encode())
        for path in ("zz/last", "0-first", "c/middle", "b/one.txu", "b/a")
    ]

    splice(repo, IndexWriter(str(repo / ".git" / "index")), new)

    paths = [line.split("\t")[1] for line in staged(repo)]
    assert paths == sorted(
        [".gitattributes", "README.md", "b/one.txt", "d/two.txt"]
        + [entry.path.decode() for entry in new]
    )
    assert sorted(status(repo)) == sorted(f"A  {entry.path.decode()}" for entry in new)
    git(repo, "diff", "--quiet")


def test_the_stat_data_spliced_in_matches_the_working_tree(repo: Path) -> None:
    entry = work_file(repo, "data/file.bin", b"contents")

    splice(repo, IndexWriter(str(repo / ".git" / "index")), [entry])

    debug = git(repo, "ls-files", "--debug", "data/file.bin")
    stat = entry.stat
    assert f"mtime: {int(stat.st_mtime)}:{stat.st_mtime_ns % 10**9}" in debug
    assert f"ino: {stat.st_ino}" in debug
    assert f"size: {stat.st_size}" in debug
    assert git(repo, "diff-files", "--name-only") == ""


def test_one_writer_adds_several_times_in_a_row(repo: Path) -> None:
    writer = IndexWriter(str(repo / ".git" / "index"))
    added: list[str] = []
    for round_number, names in enumerate((["m/1", "a/1"], ["m/0", "z/9"], ["m/00", "a/0", "b"])):
        entries = [work_file(repo, name, b"%d" % round_number) for name in names]
        splice(repo, writer, entries)
        added += names

        # Read-only: a git status that refreshed the index would rewrite it, and the writer
        # would read it afresh rather than use what it remembers.
        shown = git(repo, "--no-optional-locks", "status", "--porcelain").splitlines()
        assert sorted(shown) == sorted(f"A  {name}" for name in added)
        git(repo, "diff", "--quiet")


def test_a_writer_rereads_an_index_git_rewrote_since(repo: Path) -> None:
    writer = IndexWriter(str(repo / ".git" / "index"))
    splice(repo, writer, [work_file(repo, "m/1", b"1")])
    (repo / "0-mine.txt").write_text("mine\n")
    git(repo, "add", "0-mine.txt")

    splice(repo, writer, [work_file(repo, "m/2", b"2")])

    assert sorted(status(repo)) == ["A  0-mine.txt", "A  m/1", "A  m/2"]


def test_written_remembers_the_index_it_wrote_not_one_another_writer_put_in_its_place(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, "non-bare")  # not checked by git fsck: the index may be broken
    # The stale layout then points 72 bytes (the entry git added) short of where the entries
    # end, inside this long name, the last entry: its letters pass for an optional
    # extension, dropped without complaint, rather than for a required one, which would be
    # refused (and the dulwich backend would fall back to rewriting the index).
    commit_files(repo, {"Z" * 100: b"z\n"})
    index = repo / ".git" / "index"
    writer = IndexWriter(str(index))
    with open(f"{index}.lock", "xb") as out:
        writer.add([work_file(repo, "M/1", b"1")], out)
    os.replace(f"{index}.lock", index)
    (repo / "0.txt").write_text("0\n")
    git(repo, "add", "0.txt")  # another git, between the rename and written()
    writer.written()

    splice(repo, writer, [work_file(repo, "M/2", b"2")])

    assert sorted(status(repo)) == ["A  0.txt", "A  M/1", "A  M/2"]


def test_the_tree_cache_is_invalidated_exactly_as_git_update_index_does(nested: Path) -> None:
    entry = work_file(nested, "2020/01/02/03/new.txt", b"new\n")
    index = nested / ".git" / "index"
    written_by_git = index.read_bytes()
    cacheinfo = f"100644,{entry.oid.hex()},{entry.path.decode()}"
    git(nested, "update-index", "--add", "--cacheinfo", cacheinfo)
    as_git_does = extensions(index.read_bytes())[b"TREE"]
    index.write_bytes(written_by_git)

    splice(nested, IndexWriter(str(index)), [entry])

    assert extensions(index.read_bytes())[b"TREE"] == as_git_does


def test_cached_trees_off_the_added_paths_stay_valid(nested: Path) -> None:
    before = cached_trees(extensions(index_of(nested))[b"TREE"])
    new = work_file(nested, "docs/part3/new.md", b"x")

    splice(nested, IndexWriter(str(nested / ".git" / "index")), [new])

    after = cached_trees(extensions(index_of(nested))[b"TREE"])
    assert None not in before.values()
    assert {path for path, tree in after.items() if tree is None} == {"", "docs", "docs/part3"}
    assert {path: tree for path, tree in after.items() if tree} == {
        path: tree for path, tree in before.items() if path not in ("", "docs", "docs/part3")
    }
    assert before["2020/01/02/03"] == git(nested, "rev-parse", "HEAD:2020/01/02/03").strip()


def test_the_resolve_undo_record_is_copied_unchanged(repo: Path) -> None:
    make_conflict(repo)
    (repo / "README.md").write_text("resolved\n")
    git(repo, "add", "README.md")
    record = extensions(index_of(repo))[b"REUC"]

    splice(repo, IndexWriter(str(repo / ".git" / "index")), [work_file(repo, "new.txt", b"x")])

    assert extensions(index_of(repo))[b"REUC"] == record


def test_optional_extensions_describing_old_entries_are_dropped(repo: Path) -> None:
    git(repo, "config", "index.recordEndOfIndexEntries", "true")
    git(repo, "update-index", "--untracked-cache", "--force-write-index")
    status(repo)
    assert {b"EOIE", b"UNTR"} <= set(extensions(index_of(repo)))

    splice(repo, IndexWriter(str(repo / ".git" / "index")), [work_file(repo, "new.txt", b"x")])

    assert set(extensions(index_of(repo))) <= {b"TREE", b"REUC"}
    assert status(repo) == ["A  new.txt"]


def test_version_4_is_refused(repo: Path) -> None:
    git(repo, "update-index", "--index-version", "4")

    assert "version 4" in refused(repo, [work_file(repo, "new.txt", b"x")])


def test_a_split_index_is_refused(repo: Path) -> None:
    git(repo, "update-index", "--split-index")

    assert "split index" in refused(repo, [work_file(repo, "new.txt", b"x")])


def test_a_sparse_index_is_refused(repo: Path) -> None:
    commit_files(repo, {"docs/page.md": b"page\n", "src/code.py": b"pass\n"})
    git(repo, "sparse-checkout", "set", "--cone", "--sparse-index", "docs")

    assert "sparse index" in refused(repo, [work_file(repo, "docs/new.md", b"x")])


def test_an_unknown_required_extension_is_refused(repo: Path) -> None:
    index = repo / ".git" / "index"
    written_by_git = index.read_bytes()
    body = written_by_git[:-20] + b"abcd" + struct.pack(">I", 3) + b"xyz"
    index.write_bytes(body + hashlib.sha1(body).digest())

    reason = refused(repo, [work_file(repo, "new.txt", b"x")])

    assert "b'abcd'" in reason
    index.write_bytes(written_by_git)  # for git fsck, which would not read it either


def test_unresolved_conflicts_are_refused(repo: Path) -> None:
    make_conflict(repo)

    assert "conflicts" in refused(repo, [work_file(repo, "new.txt", b"x")])


def test_a_path_in_the_index_already_is_refused(repo: Path) -> None:
    assert "README.md" in refused(repo, [work_file(repo, "README.md", b"changed\n")])
