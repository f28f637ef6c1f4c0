"""Hostile input to every decoder: file names of both formats, the store configuration,
encryption keys, compressed data, encrypted files, time strings and time values.

Each decoder gets arbitrary input, valid encodings, and valid encodings mutated (see
``hostile.py``). Whatever it gets, it returns a valid value or raises its own documented
error (a :class:`~gitblobts.GitBlobTSError`; ``ValueError`` from a codec and
:class:`~gitblobts.core.cipher.DecryptionFailed` from a cipher, as their plugin contracts
say, which core turns into :class:`~gitblobts.CorruptBlobError`), within a time limit. Any
other exception, or a hang, fails the test.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitblobts import ConfigError, InvalidKeyError, TimeError, generate_key
from gitblobts.core import keys, naming
from gitblobts.core.cipher import DecryptionFailed
from gitblobts.core.config import StoreConfig
from gitblobts.core.formats.v1 import names as naming_v1
from gitblobts.core.formats.v1.names import V1Blob
from gitblobts.core.plugins import load_plugins
from gitblobts.core.timestamps import MAX_NS, MIN_NS, Nanoseconds, to_ns
from gitblobts.plugins import ciphers
from gitblobts.plugins.pendulum_time import PendulumTimeParser
from tests.helpers.hostile import hostile_bytes, hostile_text, time_limit

T = TypeVar("T")
PLUGINS = load_plugins(only=())
MiB = 1 << 20
LIMIT = 2.0
"""Seconds any one decoding may take; the slowest takes milliseconds."""
HOSTILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""A hundred examples a test, a few hundred milliseconds. :data:`LIMIT` stands in for the
deadline, which would also fail a test on a slow machine, not only on a hang."""


def outcome(call: Callable[[], T], *errors: type[Exception]) -> T | Exception:
    """What ``call()`` returns, or the error it raises if that is one of ``errors``. Any
    other exception propagates, and a call still running after :data:`LIMIT` seconds
    raises ``Hang``: either fails the test."""
    with time_limit(LIMIT):
        try:
            return call()
        except errors as error:
            return error


# File names, format 2

TIME_AND_NONCE = "20231114T221320.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6"
NAMES = [
    f"{TIME_AND_NONCE}.v2",
    f"{TIME_AND_NONCE}.v2.zst",
    f"{TIME_AND_NONCE}.v2.gz.aes256gcm",
    "00010101T000000.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.xz.fernet",
    "99991231T235959.999999999Z_77777777777777777777777777.v2.bz2",
]


@HOSTILE
@given(filename=hostile_text(NAMES))
@example(filename="٢٠٢٣" + NAMES[2][4:])  # Arabic-Indic digits, which \d matches
@example(filename=f"{TIME_AND_NONCE}.v{'9' * 5000}")
def test_a_hostile_file_name_is_a_blob_name_in_the_years_or_none(filename: str) -> None:
    name = outcome(lambda: naming.parse(filename))

    if name is not None:
        assert MIN_NS <= name.timestamp_ns <= MAX_NS
        assert name.identity.isascii()
        assert len(name.identity) == len(TIME_AND_NONCE)
        assert name.version >= 1
        assert naming.parse(str(name)) == name
        if filename.isascii():
            assert str(name) == filename


def test_a_version_of_more_than_nine_digits_is_not_a_blob_name() -> None:
    # Python refuses to read an integer of over 4300 digits: parse raised ValueError.
    assert naming.parse(f"{TIME_AND_NONCE}.v{'9' * 5000}") is None
    assert naming.parse(f"{TIME_AND_NONCE}.v1234567890.zst") is None
    name = naming.parse(f"{TIME_AND_NONCE}.v123456789.zst")
    assert name is not None
    assert name.version == 123456789


def test_a_name_spelled_in_other_digits_has_the_ascii_identity_of_its_time() -> None:
    # A cipher takes the identity as ASCII: one spelled in Arabic-Indic digits made
    # reading the file fail with UnicodeEncodeError.
    name = naming.parse("٢٠٢٣" + NAMES[2][4:])
    assert name is not None
    assert name.identity == TIME_AND_NONCE
    assert name == naming.parse(NAMES[2])


# File names, format 1 (gitblobts 0.0.7)

V1_NAMES = [
    naming_v1.encode(timestamp_ns, random)
    for timestamp_ns, random in [
        (1_700_000_000_123_456_768, 12345),
        (-5 * 10**18, (1 << 256) - 1),
        (0, 0),
        (10**21, 1 << 200),  # the year 33658: 0.0.7 took any time
    ]
]


@HOSTILE
@given(filename=hostile_text(V1_NAMES))
def test_a_hostile_file_name_is_a_format_1_blob_name_with_a_float_time_or_none(
    filename: str,
) -> None:
    name = outcome(lambda: naming_v1.parse(filename))

    if name is not None:
        assert name.identity == filename
        assert math.isfinite(naming_v1.to_seconds(name.timestamp_ns))
        blob = V1Blob(name.timestamp_ns, filename, b"")
        iso = outcome(lambda: blob.iso, TimeError)
        assert isinstance(iso, str) == (MIN_NS <= name.timestamp_ns <= MAX_NS)


def test_a_format_1_name_beyond_any_float_time_is_not_a_blob_name() -> None:
    # 0.0.7 took times from floats; a larger one made Blob.timestamp raise OverflowError.
    largest = int(sys.float_info.max)
    name = naming_v1.parse(naming_v1.encode(largest, 1))
    assert name is not None
    assert naming_v1.to_seconds(name.timestamp_ns) == sys.float_info.max / 1e9
    assert naming_v1.parse(naming_v1.encode(largest + 1, 1)) is None
    assert naming_v1.parse(naming_v1.encode(-largest - 1, 1)) is None


@pytest.mark.parametrize(
    "timestamp_ns", [10**21, -(10**21), 10**300], ids=["year-33658", "before-year-1", "1e300"]
)
def test_the_date_of_a_format_1_blob_beyond_the_years_0001_9999_is_a_time_error(
    timestamp_ns: int,
) -> None:
    blob = V1Blob(timestamp_ns, "far", b"")
    assert blob.timestamp == timestamp_ns / 1e9
    with pytest.raises(TimeError, match="outside the supported years"):
        _ = blob.iso
    with pytest.raises(TimeError, match="outside the supported years"):
        _ = blob.datetime


# The store configuration

RAW_KEY = os.urandom(32)
CONFIGS = [
    StoreConfig("hourly", "zstd", "aes256gcm", keys.key_check(RAW_KEY)).to_bytes(),
    StoreConfig("flat", "none").to_bytes(),
    b'{"format": "gitblobts", "version": 2, "layout": "hourly", "codec": "gzip"}',
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _checked_config(data: bytes) -> StoreConfig | Exception:
    """The configuration ``data`` holds (or its ConfigError), checked as a store uses it."""
    config = outcome(lambda: StoreConfig.from_bytes(data), ConfigError)
    if isinstance(config, StoreConfig):
        assert StoreConfig.from_bytes(config.to_bytes()) == config
        if config.key_check is not None:
            assert isinstance(outcome(lambda: keys.matches(RAW_KEY, config.key_check)), bool)
    return config


@HOSTILE
@given(data=hostile_bytes(CONFIGS))
def test_a_hostile_configuration_file_is_read_or_refused_with_config_error(data: bytes) -> None:
    assert isinstance(_checked_config(data), (StoreConfig, ConfigError))


FIELDS = ["format", "version", "layout", "codec", "cipher", "key_check"]


@settings(HOSTILE, max_examples=50)  # JSON documents take long to make
@given(
    changed=st.dictionaries(
        st.sampled_from([*FIELDS, "other"]), st.text(max_size=40) | JSON, max_size=3
    ),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
)
@example(changed={"key_check": "é" * 32}, dropped=set())
@example(changed={"layout": "v1", "version": 1}, dropped={"key_check"})
def test_a_configuration_with_hostile_fields_is_read_or_refused_with_config_error(
    changed: dict[str, object], dropped: set[str]
) -> None:
    document = {**json.loads(CONFIGS[0]), **changed}
    data = json.dumps({field: document[field] for field in document if field not in dropped})
    assert isinstance(_checked_config(data.encode()), (StoreConfig, ConfigError))


def test_a_configuration_with_an_integer_too_long_to_read_is_not_valid_json() -> None:
    # json.loads raises a plain ValueError for an integer of over 4300 digits.
    with pytest.raises(ConfigError, match="not valid JSON"):
        StoreConfig.from_bytes(b'{"format": "gitblobts", "version": ' + b"9" * 5000 + b"}")


def test_a_key_check_with_other_than_ascii_characters_matches_no_key() -> None:
    # hmac.compare_digest raises TypeError for such text.
    assert keys.matches(RAW_KEY, "é" * 32) is False
    assert keys.matches(RAW_KEY, "\ud800") is False
    assert keys.matches(RAW_KEY, keys.key_check(RAW_KEY)) is True


# Keys

KEYS = [generate_key(), generate_key() + b"\n", b"  " + generate_key()]


@HOSTILE
@given(key=hostile_bytes(KEYS) | hostile_text([key.decode() for key in KEYS]))
def test_a_hostile_key_is_read_as_32_bytes_or_refused_with_invalid_key_error(
    key: bytes | str,
) -> None:
    raw = outcome(lambda: keys.decode_key(key), InvalidKeyError)
    assert isinstance(raw, InvalidKeyError) or len(raw) == keys.KEY_BYTES


# Compressed data

MESSAGE = b"gitblobts stores blobs as files in a git repository. " * 4
SAMPLES = [b"", b"x", MESSAGE, os.urandom(200) + bytes(3000)]


def _frames(name: str) -> list[bytes]:
    """Valid files of the codec: several blobs, and two streams back to back."""
    codec = PLUGINS.codecs.get(name)()
    frames = [codec.encode(sample) for sample in SAMPLES]
    return [*frames, frames[1] + frames[2]]


FRAMES = {name: _frames(name) for name in PLUGINS.codecs.names()}


@pytest.mark.parametrize("name", list(FRAMES))
@HOSTILE
@given(data=st.data(), max_size=st.integers(0, 4000) | st.just(MiB))
def test_hostile_compressed_data_decodes_within_max_size_or_is_refused(
    name: str, data: st.DataObject, max_size: int
) -> None:
    stored = data.draw(hostile_bytes(FRAMES[name]), label="stored")
    codec = PLUGINS.codecs.get(name)()

    decoded = outcome(lambda: codec.decode(stored, max_size=max_size), ValueError)

    assert isinstance(decoded, ValueError) or len(decoded) <= max_size
    if stored in FRAMES[name] and not isinstance(decoded, ValueError):
        assert decoded in (*SAMPLES, SAMPLES[1] + SAMPLES[2])


# Encrypted files

CONTEXT = TIME_AND_NONCE.encode()
PLAINTEXTS = [b"", MESSAGE, os.urandom(100)]
TOKENS = {
    name: [PLUGINS.ciphers.get(name)(RAW_KEY).encrypt(text, CONTEXT) for text in PLAINTEXTS]
    for name in PLUGINS.ciphers.names()
}


@pytest.mark.parametrize("name", list(TOKENS))
@HOSTILE
@given(data=st.data())
def test_a_hostile_encrypted_file_decrypts_to_a_plaintext_written_or_is_refused(
    name: str, data: st.DataObject
) -> None:
    token = data.draw(hostile_bytes(TOKENS[name]), label="token")
    cipher = PLUGINS.ciphers.get(name)(RAW_KEY)

    plaintext = outcome(lambda: cipher.decrypt(token, CONTEXT), DecryptionFailed)

    assert isinstance(plaintext, DecryptionFailed) or plaintext in PLAINTEXTS


def _forged(name: str, size: int) -> bytes:
    """A file of a well-formed header (the version; for fernet, the time of a real token,
    all in base64) and ``size`` random bytes."""
    if name == "aes256gcm":
        return b"\x01" + os.urandom(size)
    header = base64.urlsafe_b64decode(TOKENS["fernet"][0])[:9]
    return base64.urlsafe_b64encode(header + os.urandom(size))


@pytest.mark.parametrize(
    ("name", "one_call_limit"),
    [("aes256gcm", ciphers._ONE_CALL_LIMIT), ("aes256gcm", MiB), ("fernet", MiB)],
    ids=["aes256gcm", "aes256gcm-in-pieces", "fernet"],
)
def test_a_forged_encrypted_file_allocates_no_more_than_twice_its_size(
    name: str, one_call_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ciphers, "_ONE_CALL_LIMIT", one_call_limit)  # so 8 MiB is pieces
    forged = _forged(name, 8 * MiB)
    cipher = PLUGINS.ciphers.get(name)(RAW_KEY)
    tracemalloc.start()
    try:
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(forged, CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(forged)


# Time strings

TIME_STRINGS = [
    "2026-11-24T14:05:06.123456789+01:00",
    "20261124T061500.123456789Z",
    "tue, 24 nov 2026 06:15:00 +0000",
    "Tue Nov 24 06:15:00 2026 +0100",
    "yesterday noon",
    "9am tomorrow",
    "last monday",
    "2 hours ago",
    "in 1.5 days",
    "now - 1 week",
    "1h 30m from now",
    "2026-W48-2",
    "2026-328",
    "2026-11",
    "@1700000000.5",
    "11/24/2026",
    "3000 years ago",
]
NOW = st.integers(MIN_NS, MAX_NS) | st.sampled_from([MIN_NS, MAX_NS, 1_700_000_000 * 10**9])


@HOSTILE
@given(text=hostile_text(TIME_STRINGS), now_ns=NOW)
def test_a_hostile_time_string_is_a_time_in_the_years_or_not_understood(
    text: str, now_ns: int
) -> None:
    parsed = outcome(lambda: PendulumTimeParser().parse(text, now_ns), TimeError)

    assert parsed is None or isinstance(parsed, TimeError) or MIN_NS <= parsed <= MAX_NS


@HOSTILE
@given(text=hostile_text(TIME_STRINGS), now_ns=NOW)
def test_a_hostile_time_string_in_a_query_is_a_time_or_a_time_error_saying_why(
    text: str, now_ns: int
) -> None:
    ns = outcome(lambda: to_ns(text, now_ns=now_ns, parse_text=PLUGINS.parse_time), TimeError)

    if isinstance(ns, TimeError):
        assert "failed" not in str(ns)  # how the parser's unexpected errors are wrapped
    else:
        assert MIN_NS <= ns <= MAX_NS


# Time values

HUGE = st.integers(min_value=-(10**5000), max_value=10**5000)
STRUCT_TIMES = st.tuples(*[st.integers(-(10**20), 10**20) | st.integers(0, 60)] * 9).map(
    time.struct_time
) | st.tuples(
    st.integers(1, 9999),
    *[st.integers(0, 60)] * 8,
    st.just("UTC"),
    st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=2),
).map(time.struct_time)
TIME_VALUES = st.one_of(
    st.integers() | HUGE,
    (st.integers() | HUGE).map(Nanoseconds),
    st.floats(),
    st.decimals(),
    st.builds(Decimal, st.sampled_from(["1e-999999999", "-1e999999999", "1e-99999999999"])),
    st.fractions(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.dates(),
    STRUCT_TIMES,
    st.booleans(),
    st.none(),
    st.binary(max_size=4),
)


@HOSTILE
@given(value=TIME_VALUES)
def test_a_hostile_time_value_is_nanoseconds_in_the_years_or_a_time_error(value: object) -> None:
    ns = outcome(lambda: to_ns(value, now_ns=0), TimeError)

    assert isinstance(ns, TimeError) or (type(ns) is int and MIN_NS <= ns <= MAX_NS)


@pytest.mark.parametrize("text", ["1e-999999999", "-1e-999999999", "1e-99999999999999"])
def test_a_decimal_with_a_huge_negative_exponent_is_zero_seconds_at_once(text: str) -> None:
    # Fraction(Decimal(text)) builds 10 ** 999999999: minutes, and a gigabyte.
    with time_limit(LIMIT):
        assert to_ns(Decimal(text)) == 0


@pytest.mark.parametrize("text", ["1e999999999", "-1e999999999", "1e12"])
def test_a_decimal_with_a_huge_exponent_is_outside_the_years_at_once(text: str) -> None:
    with time_limit(LIMIT), pytest.raises(TimeError, match="outside the supported years"):
        to_ns(Decimal(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0000000005", 0),  # halves round to even, as for every other exact type
        ("0.0000000015", 2),
        ("-0.0000000005", 0),
        ("253402300799.9999999994", MAX_NS),
        ("1700000000.1234567891234567891234567890", 1_700_000_000_123_456_789),
    ],
)
def test_a_decimal_is_rounded_once_to_the_nearest_nanosecond(text: str, expected: int) -> None:
    assert to_ns(Decimal(text)) == expected == round(Fraction(Decimal(text)) * 10**9)


@pytest.mark.parametrize("value", [10**5000, Nanoseconds(-(10**5000))], ids=["int", "ns"])
def test_an_integer_too_long_to_print_is_outside_the_years(value: int) -> None:
    # The error message used to print it, which raises ValueError past 4300 digits.
    with pytest.raises(TimeError, match="too long to print"):
        to_ns(value)


@pytest.mark.parametrize(
    "fields",
    [
        (2026, 11, 24, 6, 15, 0, 1, 328, 0, "UTC", "x"),  # an offset that is text
        (2026, 11, 24, 6, 15, 0, 1, 328, 0, "UTC", 1.5),  # a fraction of a second
        ("2026", 11, 24, 6, 15, 0, 1, 328, 0),
        (10**5000, 11, 24, 6, 15, 0, 1, 328, 0),
    ],
)
def test_a_struct_time_whose_fields_are_not_integers_is_a_time_error(
    fields: tuple[object, ...],
) -> None:
    # The first returned a float of nanoseconds, the others raised TypeError or ValueError.
    with pytest.raises(TimeError, match="cannot be converted"):
        to_ns(time.struct_time(fields))
