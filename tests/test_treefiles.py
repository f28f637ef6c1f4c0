"""Reading the files of a raw tree object, as the backends list a folder of blobs."""

from __future__ import annotations

import os

import pytest
from dulwich.objects import Tree
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.gitfiles import trees

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
