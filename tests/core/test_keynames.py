"""Key names: checking keys, their ids, folders and labels, and reading folders back."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gitblobts import ArgumentError, ArgumentTypeError
from gitblobts.core.keynames import (
    MAX_LABEL_LENGTH,
    MAX_LEVEL,
    check_key,
    is_shard_name,
    key_id,
    key_name,
    label,
    name_secret,
    parse_folder,
    parse_record,
    record_name,
    shard,
    unlabel,
)
from tests.helpers.pathsafety import assert_paths_safe, name_problem

SECRET = name_secret(bytes(32))

AWKWARD = [
    "sensor/7",
    "A",
    "a",
    "CON",
    "con",
    "nul",
    "COM1",
    "LPT9",
    "con.txt",
    "CON.tar.gz",
    "..",
    ".",
    ".hidden",
    "/",
    "\\",
    ":",
    "*",
    "?",
    '"',
    "<",
    ">",
    "|",
    "~",
    "~~",
    "%41",
    "trailing.",
    "trailing ",
    " ",
    "tab\there",
    "bell\x07\x1f\x7f",
    "x" * 1024,
    "字" * 1024,
    "🙂" * 1024,
    "é" * 95 + "x",
    unicodedata.normalize("NFC", "é"),
    unicodedata.normalize("NFD", "é"),
    "sha256-" + "0" * 63,
    "SHA256-" + "0" * 64,
]


@pytest.mark.parametrize("key", AWKWARD, ids=range(len(AWKWARD)))
@pytest.mark.parametrize("secret", [None, SECRET], ids=["plain", "encrypted"])
def test_a_key_folder_reads_back_as_its_key_and_id(key: str, secret: bytes | None) -> None:
    name = key_name(check_key(key), secret)
    parsed = parse_folder(name.entry)
    assert parsed is not None
    assert parsed.id == name.id == key_id(key, secret)
    assert name.names(name.entry)
    assert not is_shard_name(name.entry)
    if secret is not None:
        assert parsed.key is None
    elif not label(key)[1]:
        assert parsed.key == key
    else:  # cut: the label spells a prefix of the key
        assert parsed.key is None
        assert parsed.label is not None
        assert parsed.label
        assert key.startswith(parsed.label)


@pytest.mark.parametrize("secret", [None, SECRET], ids=["plain", "encrypted"])
def test_key_folders_of_awkward_keys_are_distinct_and_safe_everywhere(
    secret: bytes | None,
) -> None:
    names = [key_name(key, secret) for key in AWKWARD]
    assert len({name.entry for name in names}) == len(AWKWARD)
    for level in (1, 2, MAX_LEVEL):  # however deep the key's folder is
        assert_paths_safe([f"{shard(name.id, level)}/{name.entry}" for name in names])


def test_shards_are_named_by_the_id_two_characters_a_level() -> None:
    ident = key_id("sensor/7", None)
    assert ident == "l2genw7gsljfjps5zh5wzkwbrx"
    assert shard(ident, 1) == "keys/l2"
    assert shard(ident, 2) == "keys/l2/ge"
    assert shard(ident, 3) == "keys/l2/ge/nw"
    assert shard(ident, MAX_LEVEL) == "keys/l2/ge/nw/7g/sl/jf/jp/s5/zh/5w/zk/wb/rx"
    assert is_shard_name("l2")
    assert not is_shard_name("L2")
    assert not is_shard_name("l1")  # 1 is no base32 digit
    assert not is_shard_name("l2g")


def test_a_cut_label_names_its_key_by_its_ending_whatever_the_cut() -> None:
    name = key_name("é" * 40, None)
    assert name.entry.endswith(f"~~{name.id}")
    assert name.names(name.entry)
    assert name.names(f"%C3%A9~~{name.id}")
    assert not name.names(f"%C3%A9~{name.id}")
    plain = key_name("sensor/7", None)
    assert not plain.names(f"sensor~~{plain.id}")


def test_keys_that_differ_only_in_case_or_normalisation_are_two_keys() -> None:
    nfc, nfd = unicodedata.normalize("NFC", "é"), unicodedata.normalize("NFD", "é")
    assert key_id("A", None) != key_id("a", None)
    assert key_id(nfc, None) != key_id(nfd, None)
    assert label(nfc) == ("%C3%A9", False)
    assert label(nfd) == ("e%CC%81", False)


def test_a_label_keeps_what_is_readable_and_escapes_the_rest() -> None:
    assert label("sensor/7") == ("sensor%2F7", False)
    assert label("a.b_c-D") == ("a.b_c-D", False)
    assert label(".x") == ("%2Ex", False)
    assert label("~") == ("%7E", False)
    assert label("con.txt") == ("con%2Etxt", False)  # Windows takes con.anything for CON
    assert label("config.txt") == ("config.txt", False)
    assert label("CON") == ("CON", False)
    assert label("x" * 97) == ("x" * 96, True)


RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{n}" for d in ("COM", "LPT") for n in range(10))}


def spelled(key: str) -> str:
    """The label of ``key``, uncut, character by character as docs/format.rst says."""
    head = key.split(".", 1)[0].upper()
    pieces = []
    for position, char in enumerate(key):
        if char.isascii() and (char.isalnum() or char in "_-" or (char == "." and position)):
            piece = char
        else:
            piece = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        if char == "." and position == len(head) and head in RESERVED:
            piece = "%2E"
        pieces.append(piece)
    return "".join(pieces)


@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_a_label_spells_its_key_character_by_character(key: str) -> None:
    assume("\0" not in key)
    text, cut = label(key)
    assert not cut or len(spelled(key)) > MAX_LABEL_LENGTH
    if not cut:
        assert text == spelled(key)
        assert unlabel(text) == key
    else:
        assert spelled(key).startswith(text)


@pytest.mark.parametrize("key", ["con.txt", "NUL.x.y", "com1.", "LPT9.tar", ".CON", "CONX.txt"])
def test_a_reserved_names_dot_is_escaped(key: str) -> None:
    assert label(key)[0] == spelled(key)
    assert unlabel(label(key)[0]) == key


def test_a_long_label_is_cut_between_characters_and_marked() -> None:
    text, cut = label("é" * 40)
    assert cut
    assert text == "%C3%A9" * 16
    assert len(text) == MAX_LABEL_LENGTH
    entry = key_name("é" * 40, None).entry
    assert "~~" in entry
    assert parse_folder(entry).label == "é" * 16  # type: ignore[union-attr]


def test_the_id_is_the_documented_hash() -> None:
    assert key_id("sensor/7", None) == "l2genw7gsljfjps5zh5wzkwbrx"
    assert key_id("sensor/7", SECRET) != key_id("sensor/7", None)
    assert len(key_id("x", SECRET)) == 26


@pytest.mark.parametrize(
    ("key", "error", "shown"),
    [
        (b"bytes", ArgumentTypeError, "b'bytes'"),
        (7, ArgumentTypeError, "7"),
        ("", ArgumentError, "empty"),
        ("x" * 1025, ArgumentError, "1025 characters"),
        ("a\0b", ArgumentError, "'a\\x00b'"),
        ("\ud800", ArgumentError, "surrogate"),
        ("sha256-" + "ab" * 32, ArgumentError, "content address"),
    ],
)
def test_a_bad_key_is_refused_naming_it(key: object, error: type, shown: str) -> None:
    with pytest.raises(error, match=None) as raised:
        check_key(key)
    assert shown in str(raised.value)
    assert len(str(raised.value)) < 200


def test_no_folder_name_but_a_key_folder_parses() -> None:
    assert parse_folder("2026") is None
    assert parse_folder("abc~TOOSHORT") is None
    assert parse_folder("sensor%2f7~l2genw7gsljfjps5zh5wzkwbrx") is None  # lowercase escape
    assert parse_folder("sensor/7~l2genw7gsljfjps5zh5wzkwbrx") is None


def test_name_records_are_random_and_say_their_cipher() -> None:
    assert record_name(None) != record_name(None)
    assert parse_record(record_name(None)) == ""
    assert parse_record(record_name("aes256gcm")) == "aes256gcm"
    assert parse_record("key-short") is None
    assert parse_record("19700101T000320.000000000Z_k3xvb6lsgmcrvxy3r3lkchuiha.v2") is None


def test_the_path_check_finds_what_breaks_checkouts() -> None:
    assert name_problem("CON")
    assert name_problem("con.txt")
    assert name_problem("a.")
    assert name_problem("a:b")
    assert name_problem("..")
    assert name_problem("x" * 256)
    with pytest.raises(AssertionError, match="collide"):
        assert_paths_safe(["keys/A", "keys/a"])
    with pytest.raises(AssertionError, match="collide"):
        assert_paths_safe([unicodedata.normalize("NFC", "é"), unicodedata.normalize("NFD", "é")])
