"""The store configuration: recorded once, read back on open, never holding the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import ConfigError, KeyRequiredError, Nanoseconds, Store, WrongKeyError
from tests.helpers.git import git

KEY = gitblobts.generate_key()


def recorded(repo: Path) -> dict[str, object]:
    return json.loads(git(repo, "show", "HEAD:.gitblobts.json"))  # type: ignore[no-any-return]


def test_first_add_records_the_configuration_in_the_same_commit(repo: Path) -> None:
    store = Store(repo, compression="gzip", layout="flat")
    store.addblob(b"x")

    assert recorded(repo) == {
        "format": "gitblobts",
        "version": 3,
        "layout": "flat",
        "codec": "gzip",
        "cipher": None,
        "key_check": None,
        "part_size": 16 << 20,
    }
    assert ".gitblobts.json" in git(repo, "show", "--name-only", "--format=", "HEAD")


def test_new_stores_default_to_20_second_layout_zstd_and_aes256gcm(repo: Path) -> None:
    Store(repo, key=KEY).addblob(b"x")

    config = recorded(repo)
    assert (config["layout"], config["codec"], config["cipher"]) == (
        "20-second",
        "zstd",
        "aes256gcm",
    )


def test_the_key_is_never_recorded(repo: Path) -> None:
    Store(repo, key=KEY).addblob(b"x")

    text = git(repo, "show", "HEAD:.gitblobts.json")
    assert KEY.decode() not in text
    assert KEY.decode()[:20] not in text


def test_reopening_needs_no_options_but_the_key(repo: Path) -> None:
    Store(repo, compression="bz2", layout="flat", key=KEY).addblob(b"x", Nanoseconds(5))

    store = Store(repo, key=KEY)
    store.addblob(b"y", Nanoseconds(6))

    assert [b.blob for b in store.getblobs()] == [b"x", b"y"]
    assert [b.path.endswith(".v2.bz2.aes256gcm") for b in store.getblobs()] == [True, True]


def test_a_wrong_key_is_reported_when_the_store_is_opened(repo: Path) -> None:
    Store(repo, key=KEY).addblob(b"x")

    with pytest.raises(WrongKeyError, match="does not match"):
        Store(repo, key=gitblobts.generate_key())


def test_changing_compression_later_keeps_older_blobs_readable(repo: Path) -> None:
    Store(repo, compression="gzip").addblob(b"gzipped", Nanoseconds(1))
    Store(repo, compression="lzma").addblob(b"xz", Nanoseconds(2))
    Store(repo, compression="none").addblob(b"plain", Nanoseconds(3))

    assert [b.blob for b in Store(repo).getblobs()] == [b"gzipped", b"xz", b"plain"]


def test_writers_with_different_settings_share_a_store(repo: Path) -> None:
    Store(repo, compression="zstd", key=KEY).addblob(b"aes", Nanoseconds(1))
    Store(repo, compression="gzip", key=KEY, cipher="fernet").addblob(b"fernet", Nanoseconds(2))
    Store(repo, key=KEY, cipher="none").addblob(b"clear", Nanoseconds(3))

    assert [b.blob for b in Store(repo, key=KEY).getblobs()] == [b"aes", b"fernet", b"clear"]


def test_a_store_keeps_its_layout(repo: Path) -> None:
    Store(repo, layout="flat").addblob(b"x")

    with pytest.raises(ConfigError, match="layout 'flat'"):
        Store(repo, layout="hourly")


def test_adding_to_an_encrypted_store_without_the_key_is_refused(repo: Path) -> None:
    Store(repo, key=KEY).addblob(b"secret")
    store = Store(repo)

    with pytest.raises(KeyRequiredError, match="pass its key"):
        store.addblob(b"would be plaintext")


def test_reading_an_encrypted_blob_without_the_key_names_the_file(repo: Path) -> None:
    ref = Store(repo, key=KEY).addblob(b"secret")

    with pytest.raises(KeyRequiredError, match=ref.path):
        list(Store(repo).getblobs())


def test_a_corrupt_configuration_file_is_reported(repo: Path) -> None:
    (repo / ".gitblobts.json").write_text('{"format": "gitblobts", "version": 99}')
    git(repo, "add", ".gitblobts.json")
    git(repo, "commit", "-q", "-m", "from the future")

    with pytest.raises(ConfigError, match="newer gitblobts"):
        Store(repo)


# One key or none: a store never mixes keys


def test_adding_with_a_key_to_a_store_created_without_encryption_is_refused(repo: Path) -> None:
    Store(repo).addblob(b"plain", Nanoseconds(1))
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ConfigError, match="created without encryption") as raised:
        Store(repo, key=KEY).addblob(b"would be encrypted")

    assert str(repo) in str(raised.value)
    assert "create a new store with the key" in str(raised.value)
    assert git(repo, "rev-parse", "HEAD") == head
    assert recorded(repo)["cipher"] is None


def test_two_keys_cannot_both_add_to_a_store_created_without_encryption(repo: Path) -> None:
    Store(repo).init()

    for key in (KEY, gitblobts.generate_key()):
        with pytest.raises(ConfigError, match="created without encryption"):
            Store(repo, key=key).addblob(b"x")

    assert Store(repo).count() == 0


def test_a_key_still_reads_a_store_created_without_encryption_and_adds_with_cipher_none(
    repo: Path,
) -> None:
    Store(repo).addblob(b"plain", Nanoseconds(1))

    store = Store(repo, key=KEY, cipher="none")
    store.addblob(b"also plain", Nanoseconds(2))

    assert [b.blob for b in store.getblobs()] == [b"plain", b"also plain"]
    assert [b.blob for b in Store(repo).getblobs()] == [b"plain", b"also plain"]


def test_a_key_is_refused_when_another_writer_created_the_store_without_one_meanwhile(
    repo: Path,
) -> None:
    keyed = Store(repo, key=KEY)
    Store(repo).init()
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ConfigError, match="created without encryption"):
        keyed.addblob(b"would be encrypted")

    assert git(repo, "rev-parse", "HEAD") == head


def test_a_key_stays_refused_after_init_finds_a_store_created_meanwhile_without_one(
    repo: Path,
) -> None:
    keyed = Store(repo, key=KEY)
    Store(repo).init()

    with pytest.raises(ConfigError, match="configured already"):
        keyed.init()
    with pytest.raises(ConfigError, match="created without encryption"):
        keyed.addblob(b"would be encrypted")

    assert Store(repo).count() == 0


def test_another_key_is_refused_when_another_writer_created_the_store_meanwhile(
    repo: Path,
) -> None:
    keyed = Store(repo, key=KEY)
    Store(repo, key=gitblobts.generate_key()).init()
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(WrongKeyError, match="does not match"):
        keyed.addblob(b"x")

    assert git(repo, "rev-parse", "HEAD") == head


def test_no_key_is_refused_when_another_writer_created_the_store_encrypted_meanwhile(
    repo: Path,
) -> None:
    keyless = Store(repo)
    plain_by_choice = Store(repo, cipher="none")
    Store(repo, key=KEY).init()

    with pytest.raises(KeyRequiredError, match="pass its key"):
        keyless.addblob(b"would be plaintext")
    plain_by_choice.addblob(b"plaintext by choice")

    assert [b.blob for b in Store(repo, key=KEY).getblobs()] == [b"plaintext by choice"]


# repr


def test_the_repr_of_an_encrypted_store_opened_without_its_key_shows_its_cipher_and_no_key(
    repo: Path,
) -> None:
    Store(repo, key=KEY, compression="gzip").init()

    keyless, keyed = repr(Store(repo)), repr(Store(repo, key=KEY))

    assert "cipher='aes256gcm', key=None)" in keyless
    assert "cipher='aes256gcm', key=<given>)" in keyed
    assert KEY.decode() not in keyed


def test_the_repr_of_a_store_without_encryption_says_cipher_none(
    new_repo: Callable[[str], Path],
) -> None:
    assert repr(Store(new_repo("empty"))).endswith("cipher='none', key=None)")
