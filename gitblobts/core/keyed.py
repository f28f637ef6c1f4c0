"""Keys: adding versions to a key's folder, reading them back, and listing keys.

A key's versions are blob files like any other, placed by the store's layout under the key's
folder instead of the root (:mod:`gitblobts.core.keynames`), read by the same folder walk
as keyless blobs (:meth:`Reading.iter_folders <gitblobts.core.reading.Reading.iter_folders>`
with the key's folder as its root), and encrypted binding the key's id beside the blob's
identity. The first add to a key whose folder the branch lacks also writes a name record.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from typing import Final

from gitblobts.core import keynames
from gitblobts.core.adding import Keying
from gitblobts.core.addresses import is_address
from gitblobts.core.blob import Blob, with_key
from gitblobts.core.cipher import DecryptionFailed
from gitblobts.core.errors import (
    ArgumentTypeError,
    BlobNotFoundError,
    ConfigError,
    CorruptBlobError,
    KeyRequiredError,
)
from gitblobts.core.keynames import (
    KEYS_FOLDER,
    MAX_LEVEL,
    SHARD_LENGTH,
    KeyFolder,
    KeyName,
    check_key,
    is_shard_name,
    key_name,
    name_secret,
    parse_folder,
    parse_record,
    record_context,
    record_name,
    shown,
)
from gitblobts.core.reading import Reading
from gitblobts.core.settings import Settings
from gitblobts.core.state import StoreState


class _EveryKey:
    """The type of :data:`EVERY_KEY`."""

    def __repr__(self) -> str:
        return "gitblobts.EVERY_KEY"


EVERY_KEY: Final = _EveryKey()
"""``getblobs(key=EVERY_KEY)``: the versions of every key, merged in time order."""


class Keyed:
    """Keys of a store: where their versions go, reading them, listing the keys."""

    def __init__(self, state: StoreState, reading: Reading) -> None:
        self._state = state
        self._reading = reading

    def secret(self, settings: Settings) -> bytes | None:
        """What key ids are made with: ``None`` in a store without encryption, else the
        secret derived from the key (:class:`KeyRequiredError` without it)."""
        if not settings.names.records_config:
            raise ConfigError(
                f"{self._state.path}: a store of {settings.names.title} holds no keys; "
                "migrate() it first"
            )
        config = settings.config or settings.new_config()
        if config.cipher is None:
            return None
        if settings.raw_key is None:
            raise KeyRequiredError(
                f"{self._state.path}: the store encrypts its key names", remedy="pass key="
            )
        return name_secret(settings.raw_key)

    def keying(self, key: str | None) -> Keying:
        """What :meth:`Adding.add <gitblobts.core.adding.Adding.add>` takes to add to
        ``key`` (checked now): its folder, and a name record if the branch lacks the folder."""
        if key is None:
            return None
        check_key(key)

        def place(settings: Settings) -> tuple[KeyFolder, tuple[str, bytes] | None]:
            secret = self.secret(settings)
            name = key_name(key, secret)
            head = self._state.backend.resolve(self._state.branch)
            found, new = self.locate(head, name)
            if found:
                return KeyFolder(key, name.id, found[0]), None
            folder = KeyFolder(key, name.id, new)
            return folder, self._record(settings, folder, secret is not None)

        return place

    def locate(self, head: str | None, name: KeyName) -> tuple[list[str], str]:
        """The folders of ``name``'s key in commit ``head``, shallowest first (two writers
        may have made it at two levels), and where a new folder of it would go: in the
        first of its shards, level by level, that holds fewer than
        :data:`~gitblobts.core.keynames.FANOUT_LIMIT` entries."""
        backend = self._state.backend
        ident = name.id
        found: list[str] = []
        new: str | None = None
        shard = KEYS_FOLDER
        for level in range(1, MAX_LEVEL + 1):
            start = (level - 1) * SHARD_LENGTH
            shard = f"{shard}/{ident[start : start + SHARD_LENGTH]}"
            entries = backend.list_folder(head, shard) if head is not None else []
            if new is None and (len(entries) < keynames.FANOUT_LIMIT or level == MAX_LEVEL):
                new = f"{shard}/{name.entry}"
            deeper = ident[start + SHARD_LENGTH : start + 2 * SHARD_LENGTH]
            folders = {entry.name for entry in entries if entry.mode == _FOLDER}
            if name.entry in folders:
                found.append(f"{shard}/{name.entry}")
            if name.cut:  # a cut label is known by its ending (a label cut elsewhere too)
                others = sorted(n for n in folders if n != name.entry and name.names(n))
                found += [f"{shard}/{other}" for other in others]
            has_deeper = deeper in folders
            if not has_deeper and new is not None:
                break
        assert new is not None  # the deepest level always takes it
        return found, new

    def find(self, head: str | None, name: KeyName) -> list[str]:
        """The folders of ``name``'s key in commit ``head``, shallowest first, as
        :meth:`locate` finds them, but looking its names up in each shard rather than
        listing the shard (:meth:`Backend.entry <gitblobts.core.backend.Backend.entry>`)."""
        if name.cut or head is None:  # a cut label is known by its ending: list the shards
            return self.locate(head, name)[0]
        backend = self._state.backend
        found: list[str] = []
        shard = KEYS_FOLDER
        for level in range(1, MAX_LEVEL + 1):
            start = (level - 1) * SHARD_LENGTH
            shard = f"{shard}/{name.id[start : start + SHARD_LENGTH]}"
            folder = backend.entry(head, f"{shard}/{name.entry}")
            if folder is not None and folder.mode == _FOLDER:
                found.append(f"{shard}/{name.entry}")
            deeper = name.id[start + SHARD_LENGTH : start + 2 * SHARD_LENGTH]
            sub_shard = backend.entry(head, f"{shard}/{deeper}") if level < MAX_LEVEL else None
            if sub_shard is None or sub_shard.mode != _FOLDER:
                return found
        return found

    def _record(self, settings: Settings, folder: KeyFolder, encrypted: bool) -> tuple[str, bytes]:
        """A new name record of ``folder``'s key: its path and bytes."""
        data = folder.key.encode("utf-8")
        if not encrypted:
            return f"{folder.folder}/{record_name(None)}", data
        cipher = settings.cipher
        if cipher is None:  # opened with cipher="none": names are encrypted all the same
            config = settings.config or settings.new_config()
            cipher = self._reading.cipher_for(settings, config.cipher or "", folder.folder)
        path = f"{folder.folder}/{record_name(cipher.name)}"
        return path, cipher.encrypt(data, record_context(folder.id))

    def get(self, wanted: object, at: object, pull: Callable[[], object] | None) -> Blob:
        """Carries out :meth:`gitblobts.Store.getblob` for a key (the latest version, at or
        before ``at`` if given)."""
        if is_address(wanted):
            raise BlobNotFoundError(f"content {wanted} is not on the branch")
        key = check_key(wanted)
        start = math.inf if at is None else at
        settings, head, low, high, _ = self._reading.query(start, -math.inf, pull)
        folders = self._key_folders(settings, head, key)
        for blob in self._merged(settings, head, low, high, True, folders):
            return blob
        when = "" if at is None else f" at or before {at!r}"
        raise BlobNotFoundError(f"key {shown(key)} has no version{when}")

    def getblobs(
        self, key: object, start: object, end: object, pull: Callable[[], object] | None
    ) -> Iterator[Blob]:
        """Carries out :meth:`gitblobts.Store.getblobs` for ``key`` or :data:`EVERY_KEY`."""
        if key is not EVERY_KEY:
            check_key(key)
        settings, head, low, high, descending = self._reading.query(start, end, pull)
        if isinstance(key, str):
            folders = self._key_folders(settings, head, key)
        else:
            folders = list(self.folders(settings, head))
        return self._merged(settings, head, low, high, descending, folders)

    def _key_folders(self, settings: Settings, head: str | None, key: str) -> list[KeyFolder]:
        """Every folder of ``key`` in commit ``head`` (more than one if two writers made it
        at two levels)."""
        name = key_name(key, self.secret(settings))
        with self._state.repository_errors("read"):
            found = self.find(head, name)
        return [KeyFolder(key, name.id, path) for path in found]

    def _merged(
        self,
        settings: Settings,
        head: str | None,
        low: float | int,
        high: float | int,
        descending: bool,
        folders: list[KeyFolder],
    ) -> Iterator[Blob]:
        """The versions in ``folders`` in the range, merged in query order, lazily."""
        versions = [self._versions(settings, head, low, high, descending, f) for f in folders]
        if len(versions) == 1:
            return versions[0]
        return heapq.merge(*versions, key=_order, reverse=descending)

    def _versions(
        self,
        settings: Settings,
        head: str | None,
        low: float | int,
        high: float | int,
        descending: bool,
        folder: KeyFolder,
    ) -> Iterator[Blob]:
        """The versions of ``folder``'s key in the range, in query order, lazily."""
        blobs = self._reading.iter_blobs(
            settings, head, low, high, descending, folder.folder, folder.id
        )
        for blob in blobs:
            yield with_key(blob, folder.key)

    def keys(self, prefix: str) -> Iterator[str]:
        """Carries out :meth:`gitblobts.Store.keys`."""
        if not isinstance(prefix, str):
            raise ArgumentTypeError(f"prefix {prefix!r} is {type(prefix).__name__}, not str")
        settings = self._state.settings
        with self._state.repository_errors("read"), self._state.lock:
            head = self._state.backend.resolve(self._state.branch)
        self.secret(settings)  # an encrypted store's names need the key
        names = sorted({folder.key for folder in self.folders(settings, head, prefix)})
        yield from names

    def folders(
        self, settings: Settings, head: str | None, prefix: str = ""
    ) -> Iterator[KeyFolder]:
        """The folder of every key of commit ``head`` that starts with ``prefix``: its name
        from the folder's label, else from a name record (read only then)."""
        if head is None:
            return
        with self._state.repository_errors("read"):
            yield from self._shard_folders(settings, head, KEYS_FOLDER, 0, prefix)

    def _shard_folders(
        self, settings: Settings, head: str, shard: str, level: int, prefix: str
    ) -> Iterator[KeyFolder]:
        """:meth:`folders` in ``shard`` (of level ``level``; ``keys/`` is 0) and its
        sub-shards. Lean: it sees every key folder of the store."""
        parse = parse_folder
        for entry in self._state.backend.list_folder(head, shard):
            if entry.mode != _FOLDER:
                continue
            name = entry.name
            path = f"{shard}/{name}"
            if is_shard_name(name):
                if level < MAX_LEVEL:
                    yield from self._shard_folders(settings, head, path, level + 1, prefix)
                continue
            parsed = parse(name) if level else None
            if parsed is None:
                continue  # not a key's folder: verify reports it
            key = parsed.key
            if key is None:
                known = parsed.label or ""
                if not (known.startswith(prefix) or prefix.startswith(known)):
                    continue
                key = self.read_name(settings, head, path, parsed.id)
            if key.startswith(prefix):
                yield KeyFolder(key, parsed.id, path)

    def read_name(self, settings: Settings, head: str, folder: str, ident: str) -> str:
        """The key's name a name record holds: ``folder``'s first, or ``folder`` itself if
        it is a name record."""
        backend = self._state.backend
        parent, _, last = folder.rpartition("/")
        if parse_record(last) is not None:
            listed = [(n, o) for n, o in backend.list_files(head, parent) if n == last]
            folder = parent
        else:
            listed = backend.list_files(head, folder)
        for filename, oid in listed:
            cipher_name = parse_record(filename)
            if cipher_name is None:
                continue
            path = f"{folder}/{filename}"
            (data,) = backend.read_blobs([oid])
            if cipher_name:
                cipher = self._reading.cipher_for(settings, cipher_name, path)
                try:
                    data = cipher.decrypt(data, record_context(ident))
                except DecryptionFailed:
                    raise CorruptBlobError(
                        path, f"cannot decrypt with {cipher_name!r}: wrong key, or tampered"
                    ) from None
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptBlobError(path, "a key's name record that is not UTF-8") from None
        raise CorruptBlobError(folder, "a key's folder without a name record")


_FOLDER = 0o040000
"""The mode of a tree entry that is a folder."""


def _order(blob: Blob) -> tuple[int, str]:
    return blob.timestamp_ns, blob.path
