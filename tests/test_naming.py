"""Blob file names: readable UTC time, 128 random bits, format version, codec and cipher."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core import naming
from gitblobts.core.timestamps import MAX_NS, MIN_NS

times = st.integers(min_value=MIN_NS, max_value=MAX_NS)


def test_a_name_spells_the_utc_time_with_nanoseconds() -> None:
    name = naming.new_name(1_700_000_000_123_456_789, ("zst",))
    text = str(name)
    assert text.startswith("20231114T221320.123456789Z_")
    assert text.endswith(".v2.zst")
    assert len(name.nonce) == 26


def test_encrypted_names_end_with_the_cipher() -> None:
    assert str(naming.new_name(0, ("gz", "aes256gcm"))).endswith(".v2.gz.aes256gcm")
    assert str(naming.new_name(0, ())).endswith(".v2")


@given(times, st.sampled_from([(), ("zst",), ("xz", "fernet")]))
def test_names_parse_back_exactly(timestamp_ns: int, suffixes: tuple[str, ...]) -> None:
    name = naming.new_name(timestamp_ns, suffixes)
    assert naming.parse(str(name)) == name


@given(times, times)
def test_names_sort_chronologically_as_plain_strings(a: int, b: int) -> None:
    name_a, name_b = str(naming.new_name(a, ())), str(naming.new_name(b, ()))
    if a < b:
        assert name_a < name_b
    elif a > b:
        assert name_a > name_b


def test_names_carry_128_random_bits() -> None:
    nonces = {naming.new_nonce() for _ in range(10_000)}
    assert len(nonces) == 10_000
    # 26 base32 characters: 25 carry 5 bits each, the last 3.
    alphabet = set("abcdefghijklmnopqrstuvwxyz234567")
    assert all(len(n) == 26 and set(n) <= alphabet for n in nonces)


def test_other_file_names_are_not_blob_names() -> None:
    for other in [
        "README.md",
        ".gitblobts.json",
        "20231114T221320Z.v2",
        "",
        "x" * 300,
        "20231399T221320.123456789Z_" + "a" * 26 + ".v2",
    ]:
        assert naming.parse(other) is None


def test_the_format_version_is_read_from_the_name() -> None:
    name = naming.parse("20231114T221320.123456789Z_" + "a" * 26 + ".v3.zst")
    assert name is not None
    assert name.version == 3
