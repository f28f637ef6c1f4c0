"""Git's tree objects as both backends read, write and edit them: parsing and serializing in
git's order, listing a folder's files from the raw bytes, and editing along changed paths."""

from __future__ import annotations

import os

import pytest
from dulwich.objects import Tree
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.backend import TreeEntry
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles import trees
from gitblobts.gitfiles.objects import TREE, object_id

MODES = [0o100644, 0o100755, 0o040000, 0o120000, 0o160000]
names = st.binary(min_size=1, max_size=20).filter(lambda n: b"\0" not in n and b"/" not in n)
ids = st.binary(min_size=20, max_size=20)


@given(st.dictionaries(names, st.tuples(st.sampled_from(MODES), ids)))
def test_files_are_the_regular_files_of_the_tree(entries: dict[bytes, tuple[int, bytes]]) -> None:
    tree = Tree()
    for name, (mode, oid) in entries.items():
        tree.add(name, mode, oid.hex().encode())
    expected = [
        (name.decode("utf-8", "surrogateescape"), oid.decode())
        for name, mode, oid in tree.iteritems()
        if mode in (0o100644, 0o100755)
    ]
    assert trees.files(tree.as_raw_string()) == expected


@given(st.dictionaries(names, st.tuples(st.sampled_from(MODES), ids)))
def test_split_gives_the_files_and_every_other_entry(
    entries: dict[bytes, tuple[int, bytes]],
) -> None:
    tree = Tree()
    for name, (mode, oid) in entries.items():
        tree.add(name, mode, oid.hex().encode())
    others = [
        (name.decode("utf-8", "surrogateescape"), oid.decode(), mode)
        for name, mode, oid in tree.iteritems()
        if mode not in (0o100644, 0o100755)
    ]
    assert trees.split(tree.as_raw_string()) == (trees.files(tree.as_raw_string()), others)


def test_an_empty_tree_has_no_files() -> None:
    assert trees.files(b"") == []


@pytest.mark.parametrize(
    "raw",
    [
        b"x",
        b"100644 name\0" + bytes(19),  # an id cut short
        b"0100644 name\0" + bytes(20),  # a mode git does not write
        b"100644 name\0" + bytes(20) + b"trailing",
        b"100644 name" + bytes(20),  # no NUL after the name
    ],
)
def test_a_tree_of_another_form_is_left_to_the_caller(raw: bytes) -> None:
    assert trees.files(raw) is None


def test_ids_of_other_sizes_are_read() -> None:
    oid = os.urandom(32)
    assert trees.files(b"100644 a\0" + oid, id_size=32) == [("a", oid.hex())]


def dulwich_tree(entries: dict[bytes, tuple[int, bytes]]) -> Tree:
    tree = Tree()
    for name, (mode, oid) in entries.items():
        tree.add(name, mode, oid.hex().encode())
    return tree


@given(st.dictionaries(names, st.tuples(st.sampled_from(MODES), ids)))
def test_serialize_writes_the_bytes_git_does_and_parse_reads_them_back(
    entries: dict[bytes, tuple[int, bytes]],
) -> None:
    raw = dulwich_tree(entries).as_raw_string()
    parsed = trees.parse(raw)
    assert list(parsed) == [entry.name for entry in parsed.values()]
    assert trees.serialize(reversed(list(parsed.values()))) == raw


@given(st.dictionaries(names, st.tuples(st.sampled_from(MODES), ids), min_size=1, max_size=80))
def test_a_large_tree_looks_names_up_as_parse_finds_them(
    entries: dict[bytes, tuple[int, bytes]],
) -> None:
    raw = dulwich_tree(entries).as_raw_string()
    expected = trees.parse(raw)
    looked_up = trees.LargeTree(raw, "ab" * 20)
    assert {name: looked_up.get(name) for name in expected} == expected
    assert looked_up.get("not one of them") is None
    assert looked_up.get("a\0b") is None
    assert dict(looked_up) == expected
    assert list(looked_up.values()) == list(expected.values())


def test_a_large_tree_never_takes_a_name_inside_another_for_it() -> None:
    oid = b"\0" * 20  # ids of NULs, so that bytes before a match can look like an entry
    tree = {b"x 40000 inner": (0o100644, oid), b"y inner": (0o040000, oid)}
    tree |= {b"f%03d" % n: (0o100644, oid) for n in range(60)}
    raw = dulwich_tree(tree).as_raw_string()
    assert raw.count(b" inner\0") == 2
    looked_up = trees.LargeTree(raw, oid.hex())
    assert looked_up.get("inner") is None
    assert looked_up.get("y inner") == TreeEntry("y inner", oid.hex(), 0o040000)


def test_a_damaged_large_tree_is_named_when_a_lookup_needs_all_of_it() -> None:
    oid = os.urandom(20)
    raw = b"".join(b"100644 f%03d\0" % n + oid for n in range(60)) + b"100644 cut\0" + oid[:5]
    looked_up = trees.LargeTree(raw, "cd" * 20)
    assert looked_up.get("f007") == TreeEntry("f007", oid.hex(), 0o100644)
    with pytest.raises(RepositoryError, match=r"tree (cd)+ is damaged"):
        looked_up.get("cut")
    with pytest.raises(RepositoryError, match="is damaged"):
        list(trees.LargeTree(raw, "cd" * 20).values())


def test_parse_reads_modes_git_no_longer_writes_too() -> None:
    oid = os.urandom(20)
    raw = b"100664 old\0" + oid + b"40000 sub\0" + oid
    assert trees.parse(raw) == {
        "old": TreeEntry("old", oid.hex(), 0o100664),
        "sub": TreeEntry("sub", oid.hex(), 0o040000),
    }


def test_parse_refuses_bytes_that_are_not_a_tree() -> None:
    with pytest.raises(ValueError, match="cut short"):
        trees.parse(b"100644 name\0" + b"\1" * 5)


class Repository:
    """Trees kept in memory by id, as :func:`trees.edit` reads and writes them."""

    def __init__(self) -> None:
        self.trees: dict[str, dict[str, TreeEntry]] = {}
        self.written = 0

    def read(self, oid: str) -> dict[str, TreeEntry]:
        return self.trees[oid]

    def write(self, entries: list[TreeEntry]) -> str:
        oid = object_id(TREE, trees.serialize(entries))
        self.trees[oid] = {entry.name: entry for entry in entries}
        self.written += 1
        return oid

    def edit(self, base: str | None, **changes: str | None) -> str:
        paths = [(path.split("__"), oid) for path, oid in changes.items()]
        return trees.edit(self.read, self.write, base, paths)

    def files(self, oid: str, prefix: str = "") -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in self.trees[oid].values():
            if entry.is_folder:
                found.update(self.files(entry.oid, f"{prefix}{entry.name}/"))
            else:
                found[prefix + entry.name] = entry.oid
        return found


A, B = "a" * 40, "b" * 40


def test_edit_adds_and_removes_files_and_drops_folders_left_empty() -> None:
    repo = Repository()
    base = repo.edit(None, x__y__one=A, x__two=B)
    assert repo.files(base) == {"x/y/one": A, "x/two": B}
    assert repo.files(repo.edit(base, x__y__one=None)) == {"x/two": B}
    assert repo.files(repo.edit(base, x__y__one=None, x__two=None)) == {}


def test_edit_rewrites_only_the_trees_along_the_changed_paths() -> None:
    repo = Repository()
    base = repo.edit(None, p__one=A, q__r__two=B, s__three=A)
    repo.written = 0
    repo.edit(base, q__r__four=A)
    assert repo.written == 3  # q/r, q and the root; p and s stay as they were


def test_edit_refuses_to_overwrite_a_different_file() -> None:
    repo = Repository()
    base = repo.edit(None, x__one=A)
    assert repo.edit(base, x__one=A) == base  # the same file again changes nothing
    with pytest.raises(RepositoryError, match="x/one: a different file already exists there"):
        repo.edit(base, x__one=B)


def test_edit_refuses_to_remove_a_file_that_is_not_there() -> None:
    repo = Repository()
    base = repo.edit(None, x__one=A)
    with pytest.raises(RepositoryError, match="x/two: no file there to remove"):
        repo.edit(base, x__two=None)
    with pytest.raises(RepositoryError, match="x: no file there to remove"):
        repo.edit(base, x=None)


def test_edit_refuses_a_folder_where_another_entry_stands() -> None:
    repo = Repository()
    base = repo.edit(None, x=A)
    with pytest.raises(RepositoryError, match="x: a file stands where a folder is needed"):
        repo.edit(base, x__one=B)


def test_edit_of_everything_away_leaves_the_empty_tree() -> None:
    repo = Repository()
    assert repo.edit(None) == object_id(TREE, b"")
