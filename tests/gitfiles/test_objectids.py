"""Object ids held compactly: :class:`ObjectIds` is the list of hex ids it stands for, and
:class:`IdSet` finds every id it was given, and no other, however many."""

from __future__ import annotations

import hashlib

from gitblobts.gitfiles.objectids import ID_SIZE, IdSet, ObjectIds

IDS = [hashlib.sha1(b"%d" % n).hexdigest() for n in range(10)]


def test_object_ids_equal_the_list_of_their_hex_ids() -> None:
    ids = ObjectIds(IDS)
    assert ids == IDS
    assert ids == IDS
    assert list(ids) == IDS
    assert len(ids) == 10
    assert (ids[0], ids[-1], ids[3]) == (IDS[0], IDS[-1], IDS[3])
    assert ids[2:5] == IDS[2:5]
    assert ids[::-3] == IDS[::-3]
    assert ids != IDS[:-1]


def test_object_ids_refuse_an_index_past_the_end() -> None:
    ids = ObjectIds(IDS)
    for index in (10, -11):
        try:
            ids[index]
        except IndexError:
            continue
        raise AssertionError(f"ids[{index}] did not raise")


def test_an_id_set_finds_every_id_it_holds_and_no_other() -> None:
    held = bytearray()
    found = IdSet(held)
    binaries = [hashlib.sha1(b"%d" % n).digest() for n in range(5000)]
    for binary in binaries[:4000]:
        assert binary not in found
        held += binary
        found.add_last()
    assert len(held) == 4000 * ID_SIZE
    assert all(binary in found for binary in binaries[:4000])
    assert not any(binary in found for binary in binaries[4000:])
