"""The store configuration file, ``.gitblobts.json``, committed at the repository root.

It records what a store was created with, so that opening it needs no options::

    {
      "cipher": "aes256gcm",
      "codec": "zstd",
      "format": "gitblobts",
      "key_check": "5f0c1e...",
      "layout": "20-second",
      "part_size": 16777216,
      "version": 4
    }

``codec`` and ``cipher`` are defaults for new blobs only: every file names its own codec and
cipher. ``cipher`` is ``null`` for a store created without a key, which then takes no
encrypted blobs: a store holds one key, or none, for life. ``key_check`` is a one-way
fingerprint of the key (:func:`gitblobts.core.keys.key_check`), so a wrong key is reported
when the store is opened; the key itself is never recorded.
``part_size`` (version 3) is the size in bytes beyond which a blob's stored form is kept in
parts (:mod:`gitblobts.core.parts`); a configuration without it means the default.

Versions: 2 is a store of single files; 3 may hold parted blobs, which a gitblobts that reads
only version 2 must refuse rather than skip; 4 may hold keyed or content-addressed files
(under ``keys/`` and ``content/``). A store becomes the version its files need with the
commit that adds the first file needing it (:func:`required_version`, :func:`upgraded_to`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from gitblobts.core.errors import ConfigError
from gitblobts.core.parts import MIN_PART_SIZE, SUMS

CONFIG_PATH = ".gitblobts.json"
FORMAT_NAME = "gitblobts"
CONFIG_VERSION = 3
"""The configuration's format version for new stores: 3, stores that may hold parted blobs.
(File names keep their own version, :data:`gitblobts.core.naming.FORMAT_VERSION`.)"""
PARTS_VERSION = 3
"""The first configuration version whose stores may hold parted blobs."""
KEYS_VERSION = 4
"""The first configuration version whose stores may hold keyed and content-addressed files."""
READ_VERSION = KEYS_VERSION
"""The newest configuration version this gitblobts reads."""
OWN_FOLDERS = ("keys", "content")
"""Root folders of the store's own: keyed versions and content-addressed files."""
_FIELDS = {"format", "version", "layout", "codec", "cipher", "key_check", "part_size"}


@dataclass(frozen=True)
class StoreConfig:
    """What a store was created with."""

    layout: str
    codec: str
    cipher: str | None = None
    key_check: str | None = None
    version: int = CONFIG_VERSION
    format: str = FORMAT_NAME
    part_size: int | None = None
    """Bytes of stored form beyond which a blob is kept in parts; ``None``: the default."""

    def to_bytes(self) -> bytes:
        """The file's content: sorted, indented JSON (``part_size`` only if set)."""
        document = asdict(self)
        if self.part_size is None:
            del document["part_size"]
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> StoreConfig:
        """Parse the file's content; raises :class:`ConfigError` naming the problem."""
        try:
            document: Any = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # also an integer of over 4300 digits
            raise ConfigError(f"{CONFIG_PATH} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{CONFIG_PATH} must hold a JSON object")
        if document.get("format") != FORMAT_NAME:
            raise ConfigError(f"{CONFIG_PATH}: 'format' must be {FORMAT_NAME!r}")
        version = document.get("version")
        if type(version) is not int or version < 1:
            raise ConfigError(f"{CONFIG_PATH}: 'version' must be a positive integer")
        if version > READ_VERSION:
            raise ConfigError(
                f"{CONFIG_PATH}: format version {version} was written by a newer gitblobts; "
                f"this one reads up to version {READ_VERSION}: upgrade gitblobts"
            )
        unknown = set(document) - _FIELDS
        if unknown:
            raise ConfigError(f"{CONFIG_PATH}: unknown field(s) {sorted(unknown)}")
        for field in ("layout", "codec"):
            if not isinstance(document.get(field), str) or not document[field]:
                raise ConfigError(f"{CONFIG_PATH}: {field!r} must be a non-empty string")
        for field in ("cipher", "key_check"):
            if document.get(field) is not None and not isinstance(document[field], str):
                raise ConfigError(f"{CONFIG_PATH}: {field!r} must be a string or null")
        part_size = document.get("part_size")
        if part_size is not None and (type(part_size) is not int or part_size < MIN_PART_SIZE):
            raise ConfigError(
                f"{CONFIG_PATH}: 'part_size' must be an integer >= {MIN_PART_SIZE} (bytes)"
            )
        return cls(
            part_size=part_size,
            layout=document["layout"],
            codec=document["codec"],
            cipher=document.get("cipher"),
            key_check=document.get("key_check"),
            version=version,
        )


def required_version(paths: Iterable[str]) -> int:
    """The configuration version a store holding files at ``paths`` needs at least: 4 for
    a file under ``keys/`` or ``content/``, 3 for a parted blob's, else 2."""
    needed = 2
    for path in paths:
        if path.partition("/")[0] in OWN_FOLDERS:
            return KEYS_VERSION
        if path.endswith("/" + SUMS):
            needed = PARTS_VERSION
    return needed


def upgraded_to(config: StoreConfig, version: int, part_size: int | None) -> StoreConfig:
    """``config`` as a store needing ``version`` records it: that version at least (an
    older gitblobts then refuses the store rather than skip files it does not know), with
    ``part_size`` recorded once the store may hold parted blobs."""
    if config.version >= version:
        return config
    if config.part_size is None and version >= PARTS_VERSION:
        return replace(config, version=version, part_size=part_size)
    return replace(config, version=version)
