"""Blob file names: readable UTC time, 128 random bits, format version, codec and cipher."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gitblobts.core import naming, timestamps
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


def _reference_parse(filename: str) -> naming.BlobName | None:
    """The grammar, as one regular expression, read by its groups: the reference that the
    faster parse must agree with."""
    match = naming._NAME.fullmatch(filename)
    if match is None:
        return None
    date, clock = match["date"], match["time"]
    try:
        ns = timestamps.from_utc_fields(
            int(date[:4]), int(date[4:6]), int(date[6:]),
            int(clock[:2]), int(clock[2:4]), int(clock[4:]), int(match["nanos"]),
        )  # fmt: skip
    except ValueError:
        return None
    suffixes = tuple(match["suffixes"].split(".")[1:])
    return naming.BlobName(ns, match["nonce"], int(match["version"]), suffixes)


def _digits(count: int) -> st.SearchStrategy[str]:
    """``count`` digits, mostly ASCII, sometimes Arabic-Indic (which ``\\d`` matches)."""
    return st.text("0123456789", min_size=count, max_size=count) | st.text(
        "0123456789٠١٢٣", min_size=count, max_size=count
    )


def _field(edges: list[int], width: int) -> st.SearchStrategy[str]:
    """A zero-padded number of ``width`` digits, often one of ``edges``."""
    number = st.sampled_from(edges) | st.integers(0, 10**width - 1)
    return number.map(lambda n: str(n).zfill(width))


_DAY, _SECOND = [0, 1, 2, 12, 13, 28, 29, 30, 31, 32, 99], [0, 1, 23, 24, 58, 59, 60, 61, 99]
_DATES = st.tuples(_field([0, 1, 1970, 2024, 2100, 9999], 4), _field(_DAY, 2), _field(_DAY, 2))
_CLOCKS = st.tuples(_field(_SECOND, 2), _field(_SECOND, 2), _field(_SECOND, 2))


_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_TAILS = [".v2", ".v2.zst", ".v3.gz.aes256gcm", ".v10.x_y-z", ".v0", ".v2.", ".v2.Z", ".v2.zst."]


@given(
    date=st.dates().map(lambda d: f"{d:%Y%m%d}") | _DATES.map("".join) | _digits(8),
    clock=st.times().map(lambda t: f"{t:%H%M%S}") | _CLOCKS.map("".join) | _digits(6),
    nanos=_digits(9),
    nonce=st.text(_B32, min_size=26, max_size=26) | st.text(_B32 + "189", min_size=25, max_size=27),
    tail=st.sampled_from(_TAILS),
)
@example(date="20240229", clock="235959", nanos="999999999", nonce="a" * 26, tail=".v2")
@example(date="20230229", clock="000000", nanos="000000000", nonce="a" * 26, tail=".v2")
@example(date="99991231", clock="240000", nanos="000000000", nonce="a" * 26, tail=".v2")
@example(date="00010101", clock="005960", nanos="000000000", nonce="a" * 26, tail=".v2")
@example(date="19700101", clock="006000", nanos="000000000", nonce="a" * 26, tail=".v2")
@example(date="٢٠٢٣0101", clock="٢٣٥٩٥٩", nanos="٠" * 9, nonce="a" * 26, tail=".v2.zst")
@settings(max_examples=300)
def test_parse_reads_exactly_the_grammar(
    date: str, clock: str, nanos: str, nonce: str, tail: str
) -> None:
    filename = f"{date}T{clock}.{nanos}Z_{nonce}{tail}"
    assert naming.parse(filename) == _reference_parse(filename)
