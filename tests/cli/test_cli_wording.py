"""Errors speak the words of whoever reads them: the command's options to its users, the
API's arguments to the library's; ciphers and codecs by their names; an ambiguous time with
what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitblobts import InvalidKeyError, KeyRequiredError, Store, TimeError
from gitblobts.core.keys import decode_key
from gitblobts.core.plugins import default_plugins
from tests.helpers.command import assert_fails, ok, run
from tests.helpers.git import git


@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    """A store encrypted with the key in ``tmp_path/key``, holding one blob."""
    ok("keygen", "--output", "key", cwd=tmp_path)
    ok("init", "store", "--key-file", "key", "--layout", "flat", cwd=tmp_path)
    ok("add", "-", "--key-file", "../key", cwd=tmp_path / "store", input=b"secret")
    return tmp_path / "store"


# The command's words


def test_adding_to_an_encrypted_store_without_a_key_names_the_commands_options(
    encrypted: Path,
) -> None:
    result = run("add", "-", cwd=encrypted, input=b"x")

    assert_fails(result, 1, "encrypts new blobs with 'aes256gcm'", "--key-file FILE")
    assert "cipher=" not in result.stderr
    assert "pass" not in result.stderr


def test_an_invalid_key_file_points_to_keygen_not_generate_key(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("c2hvcnQ=\n")
    ok("init", "store", cwd=tmp_path)

    result = run("get", "--cat", "--key-file", "../key", cwd=tmp_path / "store")

    assert_fails(result, 1, "decodes to 5 bytes", "gitblobts keygen")
    assert "generate_key" not in result.stderr


def test_verify_names_the_cipher_of_a_file_that_does_not_decrypt(encrypted: Path) -> None:
    [path] = [line.split()[2] for line in ok("ls", cwd=encrypted).lines]
    stored = bytearray((encrypted / path).read_bytes())
    stored[-1] ^= 1
    (encrypted / path).write_bytes(bytes(stored))
    git(encrypted, "commit", "--quiet", "-am", "tamper")

    result = run("verify", "--key-file", "../key", cwd=encrypted)

    assert result.status == 1
    assert f"{path}: cannot decrypt with 'aes256gcm'" in result.stdout
    assert "<" not in result.stdout


def test_a_weekday_alone_suggests_last_or_next(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)

    result = run("ls", "--start", "monday", cwd=tmp_path / "store")

    assert_fails(result, 1, "'monday'", "'last monday'", "'next monday'")


# The library's words


def test_the_library_names_its_own_arguments_in_a_key_required_error(encrypted: Path) -> None:
    with pytest.raises(KeyRequiredError) as raised, Store(encrypted) as store:
        store.addblob(b"x")

    assert raised.value.remedy == "pass its key, or cipher='none' to add unencrypted blobs"
    assert raised.value.problem.endswith("the store encrypts new blobs with 'aes256gcm'")
    assert str(raised.value) == f"{raised.value.problem}; {raised.value.remedy}"


def test_an_invalid_key_says_what_a_key_is_in_the_apis_words() -> None:
    with pytest.raises(InvalidKeyError) as raised:
        decode_key(b"c2hvcnQ=")

    assert raised.value.problem == "the key decodes to 5 bytes"
    assert "generate_key()" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("monday", "'last monday' or 'next monday'"),
        ("  Friday ", "'last friday' or 'next friday'"),
        ("last week", "'1 week ago'"),
        ("next month", "'in 1 month'"),
        ("24/11/2031", "'2031-11-24'"),
    ],
)
def test_an_ambiguous_time_suggests_what_to_write(text: str, suggested: str) -> None:
    with pytest.raises(TimeError) as raised:
        default_plugins().parse_time(text, 0)

    assert suggested in str(raised.value)
    assert raised.value.remedy is not None


def test_a_time_nothing_resembles_suggests_nothing() -> None:
    with pytest.raises(TimeError) as raised:
        default_plugins().parse_time("half past never", 0)

    assert raised.value.remedy is None


def test_ciphers_and_codecs_show_as_their_names() -> None:
    plugins = default_plugins()
    cipher = plugins.ciphers.get("aes256gcm")(bytes(32))
    codec = plugins.codecs.get("zstd")()

    assert (str(cipher), str(codec)) == ("aes256gcm", "zstd")
    assert f"{cipher} {codec}" == "aes256gcm zstd"
