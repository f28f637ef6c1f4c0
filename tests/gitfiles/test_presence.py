"""Which objects a repository holds, told from its object directories alone: packed, loose,
or in an alternate object directory; anything else is missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gitblobts.gitfiles.presence import ObjectPresence
from tests.helpers.git import git

ABSENT = "0123456789abcdef0123456789abcdef01234567"


def write_blob(repo: Path, data: bytes) -> str:
    return git(repo, "hash-object", "-w", "--stdin", input=data).strip()


def objects(repo: Path) -> str:
    return str(repo / ".git" / "objects")


def test_a_loose_object_is_present(repo: Path) -> None:
    oid = write_blob(repo, b"loose")
    presence = ObjectPresence(objects(repo))
    assert presence.missing([oid, ABSENT]) == [ABSENT]
    presence.close()


def test_a_packed_object_is_present(repo: Path) -> None:
    oid = write_blob(repo, b"packed")
    (repo / "f").write_bytes(b"packed")
    git(repo, "add", "f")
    git(repo, "commit", "-qm", "f")
    git(repo, "repack", "-adq")
    assert not (repo / ".git" / "objects" / oid[:2] / oid[2:]).exists()
    presence = ObjectPresence(objects(repo))
    assert presence.has(oid)
    assert not presence.has(ABSENT)
    presence.close()


def test_a_pack_added_after_the_first_look_is_seen(repo: Path) -> None:
    presence = ObjectPresence(objects(repo))
    assert presence.missing([ABSENT]) == [ABSENT]
    (repo / "g").write_bytes(b"later")
    git(repo, "add", "g")
    git(repo, "commit", "-qm", "g")
    git(repo, "repack", "-adq")
    oid = git(repo, "rev-parse", "HEAD:g").strip()
    assert presence.missing([oid]) == []
    presence.close()


def test_an_object_of_an_alternate_is_present(repo: Path, new_repo: Callable[[str], Path]) -> None:
    other = new_repo("non-bare")
    oid = write_blob(other, b"borrowed")
    (repo / ".git" / "objects" / "info" / "alternates").write_text(objects(other) + "\n")
    presence = ObjectPresence(objects(repo))
    assert presence.missing([oid, ABSENT, oid]) == [ABSENT]
    presence.close()
