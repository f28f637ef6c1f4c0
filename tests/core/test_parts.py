"""Blobs in parts, the pieces: cutting a stored form, SHA256SUMS, checking a parted blob's
folder before any part is read (:mod:`gitblobts.core.parts`), and the part size option."""

from __future__ import annotations

import hashlib

import pytest

from gitblobts import ArgumentError, ArgumentTypeError, CorruptBlobError
from gitblobts.core.parts import (
    DEFAULT_PART_SIZE,
    PartCutter,
    check_folder,
    check_part_size,
    cut,
    part_name,
    read_part_size,
    sums_file,
)

SIZE = 1024


def sha(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def test_parts_are_named_with_six_digits_so_that_a_glob_lists_them_in_order() -> None:
    assert [part_name(i) for i in (0, 1, 999_999)] == ["part-000000", "part-000001", "part-999999"]
    assert part_name(1_000_000) == "part-1000000"


def test_sha256sums_is_in_sha256sums_format() -> None:
    assert sums_file([sha(b"a"), sha(b"b")]) == (
        f"{sha(b'a')}  part-000000\n{sha(b'b')}  part-000001\n".encode()
    )


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (SIZE, [SIZE]),  # exactly one part: stays one file
        (SIZE + 1, [SIZE, 1]),
        (5 * SIZE, [SIZE] * 5),
        (5 * SIZE + 17, [SIZE] * 5 + [17]),
    ],
)
def test_a_stored_form_is_cut_into_full_parts_and_a_last_of_1_to_part_size_bytes(
    size: int, expected: list[int]
) -> None:
    stored = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    parts, sums = cut(stored, SIZE)

    assert [len(part) for part in parts] == expected
    assert b"".join(parts) == stored
    assert sums == (sums_file([sha(part) for part in parts]) if len(parts) > 1 else b"")


def test_a_cutter_fed_in_pieces_cuts_as_one_fed_whole() -> None:
    stored = bytes(range(256)) * 21
    cutter = PartCutter(SIZE)

    parts = [part for i in range(0, len(stored), 100) for part in cutter.feed(stored[i : i + 100])]
    parts.append(cutter.finish())

    assert parts == cut(stored, SIZE)[0]
    assert cutter.parted


def test_a_stored_form_within_a_part_is_no_parted_blob() -> None:
    cutter = PartCutter(SIZE)
    assert list(cutter.feed(b"x" * SIZE)) == []
    assert cutter.finish() == b"x" * SIZE
    assert not cutter.parted


# Checking a folder before reading any part

PATH = "2026/01/01/00/blob.v2"
PARTS = [b"p0", b"p1", b"p2"]
SUMS = sums_file([sha(part) for part in PARTS])


def entries(*names: str) -> list[tuple[str, str, bool]]:
    return [(name, f"oid-{name}", True) for name in names]


def test_a_whole_folder_gives_its_parts_in_order() -> None:
    listed = check_folder(
        PATH, entries("SHA256SUMS", "part-000001", "part-000000", "part-000002"), SUMS
    )

    assert listed.oids == ("oid-part-000000", "oid-part-000001", "oid-part-000002")
    assert listed.digests == tuple(sha(part) for part in PARTS)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("SHA256SUMS", "part-000000", "part-000002"), "part-000001 is missing"),
        (
            ("SHA256SUMS", "part-000000", "part-000001", "part-000002", "part-000003"),
            "part-000003 is not listed in SHA256SUMS",
        ),
        (
            ("SHA256SUMS", "part-000000", "part-000001", "part-000002", "README"),
            "README does not belong",
        ),
    ],
)
def test_a_missing_or_extra_entry_is_damage_naming_the_blob_and_the_entry(
    names: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CorruptBlobError, match=message) as raised:
        check_folder(PATH, entries(*names), SUMS)
    assert raised.value.path == PATH


@pytest.mark.parametrize(
    "sums",
    [
        b"",
        SUMS[:-1],  # no final newline
        SUMS.replace(b"  part", b" *part"),
        SUMS + b"garbage\n",
        SUMS.upper(),
    ],
)
def test_a_malformed_sha256sums_is_damage(sums: bytes) -> None:
    with pytest.raises(CorruptBlobError, match="SHA256SUMS is not a list of parts"):
        check_folder(PATH, entries("SHA256SUMS", "part-000000", "part-000001", "part-000002"), sums)


def test_sha256sums_listing_parts_out_of_order_is_damage() -> None:
    lines = SUMS.splitlines(keepends=True)
    with pytest.raises(CorruptBlobError, match="lists part-000001 where part-000000 belongs"):
        check_folder(
            PATH,
            entries("SHA256SUMS", "part-000000", "part-000001", "part-000002"),
            lines[1] + lines[0] + lines[2],
        )


# The option


def test_the_default_part_size_is_16_mib() -> None:
    assert DEFAULT_PART_SIZE == 16_777_216


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1023, ArgumentError),
        (0, ArgumentError),
        ("64", ArgumentTypeError),
        (True, ArgumentTypeError),
        (1024.0, ArgumentTypeError),
    ],
)
def test_a_nonsense_part_size_is_refused_naming_the_option(
    value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="part_size"):
        check_part_size(value)


def test_the_part_size_comes_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITBLOBTS_PART_SIZE", "65536")
    assert read_part_size(None) == 65536
    assert read_part_size(4096) == 4096
    monkeypatch.setenv("GITBLOBTS_PART_SIZE", "lots")
    with pytest.raises(ArgumentError, match="GITBLOBTS_PART_SIZE"):
        read_part_size(None)
    monkeypatch.delenv("GITBLOBTS_PART_SIZE")
    assert read_part_size(None) is None  # then the store's recorded one, else the default
