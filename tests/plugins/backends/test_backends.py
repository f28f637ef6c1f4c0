"""The two built-in backends agree: what one writes the other reads, in the same repository and
through a shared remote; and the git backend cleans up its long-lived process."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import RepositoryError, Store
from gitblobts.core.backend import Backend
from gitblobts.plugins.backends.dulwich import DulwichBackend
from gitblobts.plugins.backends.git import GitCommandBackend
from tests.helpers.git import assert_fsck_clean, git

BACKENDS = ("dulwich", "git")
PAIRS = [("dulwich", "git"), ("git", "dulwich")]


def contents(store: Store) -> list[tuple[int, str, bytes]]:
    return [(b.timestamp_ns, b.path, b.blob) for b in store.getblobs()]


@pytest.mark.parametrize("kind", ["non-bare", "bare"])
@pytest.mark.parametrize(("writer", "reader"), PAIRS)
def test_a_store_written_by_one_backend_reads_back_through_the_other(
    new_repo: Callable[[str], Path], kind: str, writer: str, reader: str
) -> None:
    path = new_repo(kind)
    first = Store(path, backend=writer)
    first.addblob(b"one", "2026-11-24T08:00:00Z")
    first.addblobs([b"two", b"three"], [1, "2001-02-03T04:05:06.123456789Z"])
    first.addblobs(os.urandom(100) for _ in range(50))
    second = Store(path, backend=reader)

    assert contents(second) == contents(first)
    second.addblob(b"four", 2)
    second.addblobs([b"five", b"six"], [3, 4])
    assert contents(first) == contents(second)
    assert len(contents(first)) == 56
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""
    first.close()
    second.close()


@pytest.mark.parametrize("writer", BACKENDS)
def test_an_encrypted_store_reads_back_through_the_other_backend(
    new_repo: Callable[[str], Path], writer: str
) -> None:
    import gitblobts

    key = gitblobts.generate_key()
    path = new_repo("bare")
    written = Store(path, backend=writer, key=key, compression="lzma")
    written.addblobs([b"secret", b"other"], [10, 20])
    reader = "git" if writer == "dulwich" else "dulwich"
    assert contents(Store(path, backend=reader, key=key)) == contents(written)


def test_clones_on_different_backends_share_one_remote(
    new_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    remote = new_repo("bare")
    clones = {}
    for name, bare in [
        ("dulwich", False),
        ("git", False),
        ("dulwich-bare", True),
        ("git-bare", True),
    ]:
        clones[name] = tmp_path / name
        git(tmp_path, "clone", "--quiet", *(["--bare"] if bare else []), str(remote), name)
    stores = {name: Store(path, backend=name.split("-")[0]) for name, path in clones.items()}

    for round_ in range(3):
        for number, (name, store) in enumerate(stores.items()):
            store.addblob(f"{name} {round_}".encode(), round_ * 10 + number)
    stores["git"].addblobs([b"batch a", b"batch b"], [100, 101])

    expected = sorted([f"{name} {r}".encode() for name in stores for r in range(3)])
    expected += [b"batch a", b"batch b"]
    for store in stores.values():
        store.pull()
    seen = {name: contents(store) for name, store in stores.items()}
    assert all(found == seen["git"] for found in seen.values()), seen
    assert sorted(blob for _, _, blob in seen["git"]) == sorted(expected)
    assert all(store.unpushed == 0 for store in stores.values())
    assert git(remote, "rev-parse", "main") == git(clones["git"], "rev-parse", "main")
    for name in ("dulwich", "git"):
        assert git(clones[name], "status", "--porcelain") == ""
    for path in clones.values():
        assert_fsck_clean(path)


def test_both_backends_refuse_to_overwrite_a_file_with_the_same_message(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    messages = []
    for backend_class in (DulwichBackend, GitCommandBackend):
        backend: Backend = backend_class(str(path))
        old, new = backend.write_blobs([b"old", b"new"])
        first = backend.write_commit(None, {"a/f": old}, "first")
        for files in ({"a/f": new}, {"a/f/g": new}):
            with pytest.raises(RepositoryError) as raised:
                backend.write_commit(first, files, "second")
            messages.append(str(raised.value))
        backend.close()
    assert messages[:2] == messages[2:]
    assert messages[0] == "a/f: a different file already exists there; blobs are never overwritten"


# The git backend's process


def cat_file_processes(repo: Path, command: bytes = b"cat-file") -> list[int]:
    """This process's children running ``git command`` in ``repo`` (zombies included)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            cwd = os.path.realpath(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if parent == os.getpid() and command in argv and cwd == os.path.realpath(repo):
            found.append(int(entry))
    return found


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")


@needs_proc
@pytest.mark.parametrize("kind", ["non-bare", "bare"])
def test_the_long_lived_processes_end_with_close(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    store = Store(path, backend="git")
    store.addblob(b"x")
    assert [b.blob for b in store.getblobs()] == [b"x"]
    assert len(cat_file_processes(path)) == 2  # objects, and sizes and names
    assert len(cat_file_processes(path, b"update-ref")) == 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.close()
        store.close()
    assert cat_file_processes(path) == []
    assert cat_file_processes(path, b"update-ref") == []
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@needs_proc
def test_the_cat_file_process_ends_when_the_store_is_collected(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("non-bare")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = Store(path, backend="git")
        store.addblobs([b"a", b"b"])
        blobs = store.getblobs()
        next(blobs)  # a read left half done
        assert len(cat_file_processes(path)) == 2
        assert len(cat_file_processes(path, b"update-ref")) == 1
        del store, blobs
        gc.collect()
        assert cat_file_processes(path) == []
        assert cat_file_processes(path, b"update-ref") == []
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@needs_proc
def test_the_cat_file_process_ends_when_a_lone_backend_is_collected(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = GitCommandBackend(str(path))
        assert list(backend.read_blobs(backend.write_blobs([b"x", b"y"]))) == [b"x", b"y"]
        assert len(cat_file_processes(path)) == 1
        del backend
        gc.collect()
        assert cat_file_processes(path) == []
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_closed_backend_refuses_reads(new_repo: Callable[[str], Path]) -> None:
    backend = GitCommandBackend(str(new_repo("bare")))
    (oid,) = backend.write_blobs([b"x"])
    backend.close()
    with pytest.raises(RepositoryError, match="closed"):
        list(backend.read_blobs([oid]))


def test_interleaved_and_abandoned_reads_get_their_own_objects(
    new_repo: Callable[[str], Path],
) -> None:
    backend = GitCommandBackend(str(new_repo("bare")))
    data = [os.urandom(n * 997) for n in range(300)]
    oids = backend.write_blobs(data)
    commit = backend.write_commit(None, {f"d/{i}": oid for i, oid in enumerate(oids)}, "c")

    one, two = backend.read_blobs(oids), backend.read_blobs(reversed(oids))
    for index in range(100):
        assert next(one) == data[index]
        assert next(two) == data[-1 - index]
        assert len(backend.list_folder(commit, "d")) == 300
    abandoned = backend.read_blobs(oids)
    next(abandoned)
    del abandoned
    assert list(backend.read_blobs(oids[::7])) == data[::7]
    assert list(two) == data[-101::-1]
    assert list(one) == data[100:]
    assert list(backend.read_blobs([])) == []
    with pytest.raises(RepositoryError, match="missing"):
        list(backend.read_blobs([oids[0], "0" * 40]))
    assert list(backend.read_blobs(oids[:2])) == data[:2]
    backend.close()


def test_status_stays_clean_when_attributes_convert_line_endings(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("non-bare")
    (path / ".gitattributes").write_text("* text eol=crlf\n")
    git(path, "add", ".gitattributes")
    git(path, "commit", "--quiet", "-m", "attributes")
    store = Store(path, backend="git", compression="none")

    refs = store.addblobs([b"line one\nline two\n", b"more\n"])

    assert git(path, "status", "--porcelain") == ""
    assert git(path, "diff-files", "--name-only") == ""
    assert (path / refs[0].path).read_bytes() == b"line one\r\nline two\r\n"
    assert [b.blob for b in store.getblobs()] == [b"line one\nline two\n", b"more\n"]


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
@pytest.mark.parametrize("name", BACKENDS)
def test_list_files_lists_the_files_list_folder_lists(
    tmp_path: Path, name: str, packed: bool
) -> None:
    path = tmp_path / "repo.git"  # not fsck-clean: a tree below is as old tools wrote some
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    blob = git(path, "hash-object", "-w", "--stdin", input=b"content").strip()
    other = git(path, "hash-object", "-w", "--stdin", input=b"other").strip()
    inner = git(path, "mktree", input=f"100644 blob {blob}\tleaf\n".encode()).strip()
    # A mode with a leading zero, as old tools wrote some.
    raw = b"100644 leaf\0" + bytes.fromhex(other) + b"0100644 zero\0" + bytes.fromhex(blob)
    odd = git(path, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", input=raw)
    entries = [
        f"100644 blob {blob}\tplain",
        f"100755 blob {other}\texecutable",
        f"120000 blob {other}\tlink",
        f"160000 commit {'1' * 40}\tsubmodule",
        f"040000 tree {inner}\tfolder",
        f"040000 tree {odd.strip()}\todd",
        f"100644 blob {other}\tnon-ascii \u00e9",
    ]
    root = git(path, "mktree", input=("\n".join(entries) + "\n").encode()).strip()
    commit = git(path, "commit-tree", root, "-m", "mixed").strip()
    if packed:
        git(path, "update-ref", "refs/heads/main", commit)
        git(path, "repack", "-a", "-d", "-q")
    store = Store(path, backend=name)
    backend = store._backend
    for folder in ("", "folder", "odd", "missing", "plain"):
        expected = [(e.name, e.oid) for e in backend.list_folder(commit, folder) if e.is_file]
        assert sorted(backend.list_files(commit, folder)) == sorted(expected)
    assert sorted(backend.list_files(commit, "")) == [
        ("executable", other),
        ("non-ascii \u00e9", other),
        ("plain", blob),
    ]
    assert sorted(backend.list_files(commit, "odd")) == [("leaf", other), ("zero", blob)]
    store.close()


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
@pytest.mark.parametrize("name", BACKENDS)
def test_list_non_files_lists_what_list_files_leaves_out(
    tmp_path: Path, name: str, packed: bool
) -> None:
    path = tmp_path / "repo.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    blob = git(path, "hash-object", "-w", "--stdin", input=b"content").strip()
    inner = git(path, "mktree", input=f"120000 blob {blob}\tlink\n".encode()).strip()
    entries = [
        f"100644 blob {blob}\tplain",
        f"120000 blob {blob}\tlink",
        f"160000 commit {'1' * 40}\tsubmodule",
        f"040000 tree {inner}\tfolder",
    ]
    root = git(path, "mktree", input=("\n".join(entries) + "\n").encode()).strip()
    commit = git(path, "commit-tree", root, "-m", "mixed").strip()
    git(path, "update-ref", "refs/heads/main", commit)
    if packed:
        git(path, "repack", "-a", "-d", "-q")
    listed, fresh = Store(path, backend=name), Store(path, backend=name)

    for folder in ("", "folder", "missing", "plain"):
        listed._backend.list_files(commit, folder)  # as reads do, just before
        expected = [e for e in fresh._backend.list_folder(commit, folder) if not e.is_file]
        assert sorted(listed._backend.list_non_files(commit, folder), key=str) == sorted(
            expected, key=str
        )
    assert {e.kind for e in fresh._backend.list_non_files(commit, "")} == {
        "a symbolic link",
        "a submodule",
        "a folder",
    }
    listed.close()
    fresh.close()
