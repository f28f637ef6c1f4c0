"""The catalog of a sharded store: how it divides time, and which shards exist.

A sharded store is a folder ``DIR`` holding the catalog, a bare git repository that is
itself a gitblobts store, and beside its git files the folder ``gitblobts-shards/`` with
one bare repository per shard, named by the shard. The catalog's branch holds keyed blobs
of JSON (uncompressed, unencrypted: ``git show`` reads them):

- key ``sharding``: :class:`Sharding`, written once when the store is made;
- key ``shard/<name>``: one :class:`ShardEntry` per shard, written when a writer first
  adds to it. A shard is named by its period (``2026-01``); once a shard passes
  ``max_shard_bytes``, its period's next shard is ``2026-01.2``, then ``.3``...

Adding a shard is an add to the catalog: a commit moved by compare-and-swap, pushed and
rebased like any other. An entry's bytes follow from the store's settings and the shard's
name alone, so two writers who make the same shard at once write the same entry: the
catalog then holds two equal versions of its key, which count as one shard, and both
writers push to the one remote repository the entry names.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gitblobts.core import keys, periods
from gitblobts.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    ConfigError,
    KeyRequiredError,
    WrongKeyError,
)
from gitblobts.core.keyed import EVERY_KEY
from gitblobts.core.settings import NO_CIPHER
from gitblobts.core.store import Store

SHARDS_FOLDER = "gitblobts-shards"
"""The folder of a sharded store's shards, beside the catalog's git files."""
PARTIAL_MARK = "partial"
"""A file in :data:`SHARDS_FOLDER` of a clone made partial: its shards are cloned so too."""
SETTINGS_KEY = "sharding"
SHARD_KEY_PREFIX = "shard/"
BRANCH = "refs/heads/main"
"""The branch of the catalog and of each shard, in the repositories a sharded store makes."""
FORMAT_NAME = "gitblobts-sharding"
DEFAULT_MAX_SHARD_BYTES = 4 * 2**30
"""Bytes of a shard's repository past which its period gets a new shard: well under
GitHub's recommended 10 GB per repository (see :doc:`deployment`)."""
PLACEHOLDERS = ("{shard}", "{period}")
"""What a shard remote template holds, replaced by the shard's name."""

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://|[^/]*:")
"""A URL, or git's scp-like ``host:path``: anything but a local path."""
_SHARD_NAME = re.compile(r"(\d{4}(?:-\d{2}){0,2})(?:\.([1-9][0-9]*))?")


def is_sharded(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a sharded store (it has :data:`SHARDS_FOLDER`)."""
    return os.path.isdir(os.path.join(os.fspath(path), SHARDS_FOLDER))


def local_path(url: str) -> str | None:
    """The folder a remote URL names on this machine (a path or ``file://``), else ``None``."""
    if url.startswith("file://"):
        return url[len("file://") :]
    return None if _URL.match(url) else url


def shard_name(period: str, number: int) -> str:
    """The name of a period's ``number``-th shard (from 1)."""
    return period if number == 1 else f"{period}.{number}"


def check_max_shard_bytes(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"max_shard_bytes is {type(value).__name__}, not an int or None")
    if value < 1:
        raise ArgumentError(f"max_shard_bytes is {value}, not a positive number of bytes")
    return value


def check_template(template: object) -> str | None:
    """A shard remote template, which names each shard's remote (see :class:`Sharding`)."""
    if template is None:
        return None
    if not isinstance(template, str):
        raise ArgumentTypeError(f"shard_remote is {type(template).__name__}, not a str")
    if not any(placeholder in template for placeholder in PLACEHOLDERS):
        raise ArgumentError(
            f"shard_remote {template!r} has no {{shard}} nor {{period}}: every shard would "
            "push to the same repository"
        )
    return template


def template_for(remote: str) -> str:
    """The shard remote template a catalog's remote suggests: ``…/blobs.git`` gives
    ``…/blobs-{shard}.git``."""
    stem = remote.rstrip("/")
    stem, suffix = (stem[:-4], ".git") if stem.endswith(".git") else (stem, "")
    return f"{stem}-{{shard}}{suffix}"


@dataclass(frozen=True)
class Sharding:
    """How a sharded store divides time and where its shards' remotes are.

    ``shard_by``: ``year``, ``month`` or ``day`` (UTC). ``remote``: the template of each
    shard's remote, ``{shard}`` (or ``{period}``) replaced by the shard's name, or ``None``
    for shards without remotes. ``max_shard_bytes``: the size of a shard's repository past
    which its period gets another shard (``None``: never). ``layout``, ``compression``,
    ``cipher``: what a new shard is created with, unless the store is opened with others.
    ``key_check``: the fingerprint of the key of an encrypted store
    (:func:`gitblobts.core.keys.key_check`), so that no shard is made with another key."""

    shard_by: str
    remote: str | None
    max_shard_bytes: int | None
    layout: str
    compression: str
    cipher: str | None
    key_check: str | None = None
    version: int = 1
    format: str = FORMAT_NAME

    def to_bytes(self) -> bytes:
        return _json(asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Sharding:
        document = _document(data, "the catalog's sharding")
        if document.get("format") != FORMAT_NAME or document.get("version") != 1:
            raise ConfigError(
                f"the catalog's sharding is not {FORMAT_NAME} version 1: upgrade gitblobts"
            )
        try:
            sharding = cls(**document)
            periods.check_shard_by(sharding.shard_by)
            check_template(sharding.remote)
            check_max_shard_bytes(sharding.max_shard_bytes)
        except (TypeError, ArgumentError) as error:
            raise ConfigError(f"the catalog's sharding is damaged: {error}") from None
        return sharding

    def check_key(self, path: str, key: bytes | str | None, cipher: str | None) -> None:
        """Refuse what would make a shard unlike the others, as a single store refuses to
        add: a key that is not the store's, no key for a store that encrypts (unless
        ``cipher`` is ``'none'``), a key for one that does not."""
        if key is None:
            if self.cipher is not None and cipher != NO_CIPHER:
                raise KeyRequiredError(
                    f"{path}: the sharded store encrypts its shards with {self.cipher!r}",
                    remedy=f"pass its key, or cipher={NO_CIPHER!r} to add unencrypted blobs",
                )
        elif self.key_check is None:
            raise ConfigError(
                f"{path}: the sharded store was made without encryption, so no shard of it "
                "is made with a key: a store holds one key or none",
                remedy="add without the key",
            )
        elif not keys.matches(keys.decode_key(key), self.key_check):
            raise WrongKeyError(
                f"{path}: the key does not match the key this sharded store was made with "
                "(key_check in the catalog's sharding)"
            )

    def entry(self, name: str) -> ShardEntry:
        """The catalog entry of the shard ``name``, its remote from the template."""
        match = _SHARD_NAME.fullmatch(name)
        if match is None:
            raise ArgumentError(f"{name!r} is not the name of a shard")
        period = periods.parse(match[1], self.shard_by)
        remote = None
        if self.remote is not None:
            remote = self.remote
            for placeholder in PLACEHOLDERS:
                remote = remote.replace(placeholder, name)
        return ShardEntry(name, period.name, period.start, period.end, remote)


@dataclass(frozen=True)
class ShardEntry:
    """One shard: its name, its period's times ``start <= t < end`` (ns) and its remote."""

    name: str
    period: str
    start: int
    end: int
    remote: str | None

    @property
    def number(self) -> int:
        """Which shard of its period it is, from 1."""
        _, _, number = self.name.partition(".")
        return int(number) if number else 1

    def overlaps(self, low: float, high: float) -> bool:
        return self.start <= high and low < self.end

    def to_bytes(self) -> bytes:
        return _json(asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes, key: str) -> ShardEntry:
        document = _document(data, f"the catalog's {key!r}")
        try:
            entry = cls(**document)
        except TypeError as error:
            raise ConfigError(f"the catalog's {key!r} is damaged: {error}") from None
        if SHARD_KEY_PREFIX + entry.name != key or not all(
            isinstance(value, int) and not isinstance(value, bool)
            for value in (entry.start, entry.end)
        ):
            raise ConfigError(f"the catalog's {key!r} is damaged: {document}")
        return entry


class CatalogStore(Store):
    """The catalog's own store: a plain store, which ``Store(DIR)`` of a sharded store's
    folder would not open."""


class Catalog:
    """The catalog store, read as it moves: its sharding, and its shards by period."""

    def __init__(self, store: CatalogStore) -> None:
        self.store = store
        self._head: str | None = None
        self._sharding: Sharding | None = None
        self._shards: dict[str, ShardEntry] = {}

    @property
    def sharding(self) -> Sharding:
        """The catalog's sharding: written once, when the store was made, so read once."""
        if self._sharding is None:
            self.refresh()
        if self._sharding is None:
            raise ConfigError(
                f"{self.store.path}: the catalog records no sharding: it is not a sharded store"
            )
        return self._sharding

    def shards(self) -> Mapping[str, ShardEntry]:
        """Every shard, by name, in time order."""
        self.refresh()
        return self._shards

    def overlapping(self, low: float, high: float) -> list[list[ShardEntry]]:
        """The shards holding times ``low <= t <= high``, in a list per period, in time
        order."""
        found: dict[str, list[ShardEntry]] = {}
        for entry in self.shards().values():
            if entry.overlaps(low, high):
                found.setdefault(entry.period, []).append(entry)
        return list(found.values())

    def last_of(self, period: str) -> ShardEntry | None:
        """The period's newest shard, which new blobs of the period go to."""
        last = None
        for entry in self.shards().values():
            if entry.period == period and (last is None or entry.number > last.number):
                last = entry
        return last

    def add(self, entry: ShardEntry, push: bool | None) -> None:
        """Record ``entry``, unless the catalog holds it already."""
        if entry.name not in self.shards():
            self.store.addblob(entry.to_bytes(), key=SHARD_KEY_PREFIX + entry.name, push=push)
            self.refresh()

    def refresh(self) -> None:
        """Read the catalog again if its branch moved since it was last read."""
        state = self.store._state
        with state.repository_errors("read"), state.lock:
            head = state.backend.resolve(state.branch)
        if head == self._head and self._sharding is not None:
            return
        sharding: Sharding | None = None
        shards: dict[str, ShardEntry] = {}
        for blob in self.store.getblobs(-math.inf, math.inf, key=EVERY_KEY):
            if blob.key == SETTINGS_KEY:
                sharding = sharding or Sharding.from_bytes(blob.blob)
            elif blob.key is not None and blob.key.startswith(SHARD_KEY_PREFIX):
                entry = ShardEntry.from_bytes(blob.blob, blob.key)
                shards.setdefault(entry.name, entry)  # equal versions are one shard
        ordered = sorted(shards.values(), key=lambda entry: (entry.start, entry.number))
        self._shards = {entry.name: entry for entry in ordered}
        self._sharding = sharding
        self._head = head  # last: another thread that sees it sees the shards read at it


def _json(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _document(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ConfigError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{what} must hold a JSON object")
    return document
