"""Key names: checking keys, their ids, folders and labels, and reading folders back."""

from __future__ import annotations

import unicodedata

import pytest

from gitblobts import ArgumentError, ArgumentTypeError
from gitblobts.core.keynames import (
    MAX_LABEL_LENGTH,
    check_key,
    key_folder,
    key_id,
    label,
    name_secret,
    parse_folder,
    parse_record,
    record_name,
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
    folder = key_folder(check_key(key), secret)
    parsed = parse_folder(folder.folder.rpartition("/")[2])
    assert parsed is not None
    assert parsed.id == folder.id == key_id(key, secret)
    assert folder.folder.startswith(f"keys/{folder.id[:2]}/{folder.id[2:4]}/")
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
    folders = [key_folder(key, secret).folder for key in AWKWARD]
    assert len(set(folders)) == len(AWKWARD)
    assert_paths_safe(folders)


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


def test_a_long_label_is_cut_between_characters_and_marked() -> None:
    text, cut = label("é" * 40)
    assert cut
    assert text == "%C3%A9" * 16
    assert len(text) == MAX_LABEL_LENGTH
    folder = key_folder("é" * 40, None).folder
    assert "~~" in folder
    assert parse_folder(folder.rpartition("/")[2]).label == "é" * 16  # type: ignore[union-attr]


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
