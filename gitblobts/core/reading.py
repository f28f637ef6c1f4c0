"""Reading a store: a range query pins the branch's commit, asks the layout which folders
can overlap the range, and decodes only the files whose names fall in it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TypeAlias

from gitblobts.core import foreign, naming
from gitblobts.core.backend import Backend
from gitblobts.core.blob import Blob, new_blob
from gitblobts.core.blobstream import PartedBlob, decoded
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import PARTS_VERSION
from gitblobts.core.errors import (
    BlobTooLargeError,
    CorruptBlobError,
    KeyRequiredError,
    UnknownPluginError,
)
from gitblobts.core.keynames import folder_of
from gitblobts.core.naming import BlobName
from gitblobts.core.parts import checked_parts, list_parts
from gitblobts.core.pipeline import BlobContext
from gitblobts.core.settings import Settings
from gitblobts.core.state import StoreState
from gitblobts.core.timestamps import MAX_NS, MIN_NS, is_open_bound, to_ns

Found: TypeAlias = "tuple[int, str, naming.Tail, str]"
"""A blob file a query found: its time, path, name tail and object id (a :class:`PartsId`
for a parted blob's folder)."""
FETCH_BATCH = 10_000
"""Most files of a query whose missing blob objects one request fetches (see
:meth:`Reading.fetched`)."""
READ_TOGETHER = 64
"""Most files of consecutive folders whose blobs a query asks its backend for at once (a
folder of more is asked for alone): a backend that reads through a process pipelines them."""
_log = logging.getLogger("gitblobts")


class PartsId(str):
    """The tree id of a parted blob's folder (see :mod:`gitblobts.core.parts`), as a query
    finds it beside blob files' object ids."""

    __slots__ = ()


class Reading:
    """Range queries over a store: finding, reading and decoding its files."""

    def __init__(self, state: StoreState) -> None:
        self._state = state

    def query(
        self, start_time: object, end_time: object, pull: Callable[[], object] | None
    ) -> tuple[Settings, str | None, float | int, float | int, bool]:
        """The settings and commit a range query reads, its ends ``low <= high``, and
        whether it descends; ``pull`` is called first, if given (once the ends are known
        to be valid)."""
        now_ns = time.time_ns()
        settings = self._state.settings
        low, high, descending = self._range(settings, start_time, end_time, now_ns)
        if pull is not None:
            pull()
        with self._state.repository_errors("read"), self._state.lock:
            head = self._state.backend.resolve(self._state.branch)
            self._state.follow_migration(head)
            if self._state.settings is not settings:
                settings = self._state.settings
                low, high, descending = self._range(settings, start_time, end_time, now_ns)
        return settings, head, low, high, descending

    def _range(
        self, settings: Settings, start_time: object, end_time: object, now_ns: int
    ) -> tuple[float | int, float | int, bool]:
        """A query's ends ``low <= high``, and whether it descends."""
        start = self._bound(settings, start_time, now_ns, open_value=-math.inf)
        end = self._bound(settings, end_time, now_ns, open_value=math.inf)
        descending = start > end
        low, high = (end, start) if descending else (start, end)
        return low, high, descending

    def _bound(
        self, settings: Settings, value: object, now_ns: int, open_value: float
    ) -> float | int:
        """A range end as nanoseconds; ``None`` and NaN become ``open_value``, infinities stay."""
        if is_open_bound(value):
            if isinstance(value, (float, Decimal)) and not math.isnan(value):
                return math.inf if value > 0 else -math.inf
            return open_value
        if type(value) is float:
            converted = settings.names.seconds_to_ns(value)
            if converted is not None:
                return converted
        return to_ns(value, now_ns=now_ns, parse_text=self._state.plugins.parse_time)

    def iter_blobs(
        self,
        settings: Settings,
        head: str | None,
        low: float | int,
        high: float | int,
        descending: bool,
        root: str = "",
        key_id: str | None = None,
    ) -> Iterator[Blob]:
        """The blobs of a range query, lazily: under ``root`` (see :meth:`iter_folders`),
        of the key whose id is ``key_id`` if given."""
        with self._state.repository_errors("read"):
            folders = self.iter_folders(settings, head, low, high, descending, root)
            for found in _together(self.fetched(folders), READ_TOGETHER):
                assert head is not None  # files were found in a commit
                yield from self.read_found(settings, head, found, key_id)

    def fetched(self, folders: Iterable[list[Found]]) -> Iterator[list[Found]]:
        """``folders`` of a query, each once the blob objects of its files are in the
        repository: in a partial clone, those it lacks are fetched for up to
        :data:`FETCH_BATCH` files of several folders at once, one request for a query of
        that many. In a repository that lacks nothing, ``folders`` as they come."""
        if not self._state.backend.may_lack_objects():
            yield from folders
            return
        batch: list[list[Found]] = []
        files = 0
        for found in folders:
            batch.append(found)
            files += len(found)
            if files >= FETCH_BATCH:
                self.fetch_missing(oid for found in batch for *_, oid in found)
                yield from batch
                batch, files = [], 0
        if batch:
            self.fetch_missing(oid for found in batch for *_, oid in found)
            yield from batch

    def fetch_missing(self, oids: Iterable[str]) -> None:
        """Fetch those of the blob objects ``oids`` that the repository lacks (a partial
        clone's), in one request; parted blobs' folders (:class:`PartsId`) are left out."""
        backend = self._state.backend
        if not backend.may_lack_objects():
            return
        missing = backend.missing(oid for oid in oids if not isinstance(oid, PartsId))
        if missing:
            _log.debug("fetching %d missing objects", len(missing))
            backend.fetch_objects(missing)

    def read_found(
        self, settings: Settings, head: str, found: list[Found], key_id: str | None = None
    ) -> Iterator[Blob]:
        """The blobs of the files ``found`` in commit ``head``, in that order, lazily;
        ``key_id``: of the key whose folder they are in, if any. In a partial clone the
        caller fetches what they lack first (:meth:`fetched`, :meth:`fetch_missing`)."""
        decompress, max_size = self._state.pipeline.decompress, self._state.max_blob_size
        plain_codecs = settings.plain_codecs
        with self._state.repository_errors("read"):
            contents = self._state.backend.read_blobs(
                [oid for *_, oid in found if not isinstance(oid, PartsId)]
            )
            for timestamp_ns, path, tail, oid in found:
                if isinstance(oid, PartsId):
                    yield self._parted_blob(settings, head, timestamp_ns, path, tail, key_id)
                    continue
                data = next(contents)
                codec = plain_codecs.get(tail)
                if codec is not None:
                    yield new_blob(timestamp_ns, path, decompress(codec, path, data, max_size))
                else:
                    yield self._read_blob(settings, timestamp_ns, path, tail, data, key_id)

    def _read_blob(
        self,
        settings: Settings,
        timestamp_ns: int,
        path: str,
        tail: naming.Tail,
        data: bytes,
        key_id: str | None,
    ) -> Blob:
        """The blob of a file a query found, through the whole read pipeline."""
        filename = path.rpartition("/")[2]
        name = settings.names.from_parts(filename, timestamp_ns, tail)
        blob = self._decode(settings, name, path, data, key_id)
        return settings.names.blob_class(timestamp_ns, path, blob)

    def _parted_blob(
        self,
        settings: Settings,
        head: str,
        timestamp_ns: int,
        path: str,
        tail: naming.Tail,
        key_id: str | None,
    ) -> Blob:
        """The blob of a parted blob's folder a query found, read when asked."""
        name = settings.names.from_parts(path.rpartition("/")[2], timestamp_ns, tail)
        context = self.read_context(settings, name, path, key_id)
        return PartedBlob(timestamp_ns, path, lambda: self.stream(head, context))

    def stream(self, head: str, context: BlobContext) -> Iterator[bytes]:
        """The bytes of the parted blob ``context.path`` of commit ``head``, in pieces,
        each part checked before it is released (see :mod:`gitblobts.core.parts`)."""
        backend = self._state.backend
        with self._state.repository_errors("read"):
            parts = list_parts(backend, head, context.path)
            self.fetch_missing(parts.oids)
            yield from decoded(
                self._state.pipeline, context, checked_parts(backend.read_blobs, parts)
            )

    def iter_folders(
        self,
        settings: Settings,
        head: str | None,
        low: float | int,
        high: float | int,
        descending: bool,
        root: str = "",
    ) -> Iterator[list[Found]]:
        """The one folder walk of every range query: for each folder, in query order, the
        blob files in the range, in query order. ``root``: the folder the layout's folders
        are under (a key's folder), ``""`` for keyless blobs."""
        if head is None or low == math.inf or high == -math.inf:
            return  # e.g. getblobs(math.inf, math.inf, pull=True): pull, read nothing
        # Some formats' names can lie outside the years layouts know: they get the years'
        # ends, and files are filtered on the range itself.
        low_ns = MIN_NS if low == -math.inf else min(max(int(low), MIN_NS), MAX_NS)
        high_ns = MAX_NS if high == math.inf else min(max(int(high), MIN_NS), MAX_NS)
        if low_ns > high_ns:
            return
        lister = _FolderLister(self._state.backend, head, root)
        for folder in settings.layout.folders(lister, low_ns, high_ns, descending=descending):
            folder = f"{root}/{folder}".rstrip("/") if root else folder
            yield self._read_folder(settings, head, folder, low, high, descending)

    def _read_folder(
        self,
        settings: Settings,
        head: str,
        folder: str,
        low: float | int,
        high: float | int,
        descending: bool,
    ) -> list[Found]:
        found: list[Found] = []
        parse = settings.names.parse_parts
        prefix = f"{folder}/" if folder else ""
        for filename, oid in self._state.backend.list_files(head, folder):
            parts = parse(filename)
            if parts is not None and low <= parts[0] <= high:
                found.append((parts[0], prefix + filename, parts[1], oid))
        others = self._state.backend.list_non_files(head, folder)
        if others and self.holds_parts(settings, head):
            for entry in others:
                parts = parse(entry.name) if entry.is_folder else None
                if parts is not None and low <= parts[0] <= high:
                    found.append((parts[0], prefix + entry.name, parts[1], PartsId(entry.oid)))
            others = [entry for entry in others if not entry.is_folder]
        foreign.warn_of_skipped(
            self._state.backend, head, folder, settings.parse, low, high, others
        )
        # By time, then path: for names of one time in one folder, the order of the names
        # (of their random parts, for time names). Paths differ, so tails are never compared.
        found.sort(reverse=descending)
        return found

    def holds_parts(self, settings: Settings, head: str) -> bool:
        """Whether folders named like blobs are parted blobs: in a store of version 3, which
        a version-2 store becomes when another writer adds its first parted blob."""
        if settings.holds_parts or not settings.names.records_config:
            return settings.holds_parts
        config = self._state.read_config(head)
        return config is not None and config.version >= PARTS_VERSION

    def _decode(
        self, settings: Settings, name: BlobName, path: str, data: bytes, key_id: str | None
    ) -> bytes:
        """A stored file's blob; for a format that records nothing, an error says which
        options matter."""
        try:
            context = self.read_context(settings, name, path, key_id)
            return self._state.pipeline.read(context, data)
        except BlobTooLargeError:
            raise
        except CorruptBlobError as error:
            keyed = settings.raw_key is not None
            hint = settings.names.read_hint(self._state.compression_option, keyed)
            if hint is None:
                raise
            raise CorruptBlobError(path, f"{error.reason}; {hint}") from None

    def read_context(
        self, settings: Settings, name: BlobName, path: str, key_id: str | None = None
    ) -> BlobContext:
        if not settings.names.records_config:  # the options' codec and cipher read every file
            return BlobContext(
                name,
                settings.codec,
                settings.cipher,
                settings.layout,
                path,
                self._state.max_blob_size,
            )
        if name.version != settings.names.version:
            raise CorruptBlobError(
                path,
                f"format version {name.version} is not one this gitblobts reads "
                f"(version {settings.names.version}); upgrade gitblobts",
            )
        stages = settings.suffix_stages.get(name.suffixes)
        if stages is None:
            stages = self._stages_for(settings, name.suffixes, path)
            settings.suffix_stages[name.suffixes] = stages
        codec, cipher = stages
        if cipher is None and self._state.pipeline.reads_plain:
            settings.plain_codecs[name.version, name.suffixes] = codec
        found = folder_of(path) if key_id is not None else None
        root = found[0] if found is not None else ""  # keys/ab/sensor%2F7~<id>
        return BlobContext(
            name, codec, cipher, settings.layout, path, self._state.max_blob_size, root, key_id
        )

    def _stages_for(
        self, settings: Settings, file_suffixes: tuple[str, ...], path: str
    ) -> tuple[Codec, Cipher | None]:
        """The codec and cipher that files with suffixes ``file_suffixes`` are read with."""
        suffixes = list(file_suffixes)
        cipher = None
        # At most a codec's extension, then a cipher's name: a last suffix of two that is no
        # codec's extension names a cipher, installed or not.
        if len(suffixes) > 2 or (
            len(suffixes) == 2 and self._state.plugins.codec_for_extension(suffixes[-1]) is not None
        ):
            raise CorruptBlobError(path, f"unrecognised file suffixes {file_suffixes!r}")
        if len(suffixes) == 2 or (suffixes and suffixes[-1] in self._state.plugins.ciphers):
            cipher = self.cipher_for(settings, suffixes.pop(), path)
        return self._codec_for(settings, suffixes[0] if suffixes else "", path), cipher

    def cipher_for(self, settings: Settings, cipher_name: str, path: str) -> Cipher:
        """The cipher ``cipher_name`` with the store's key, to read the file ``path``."""
        cipher = settings.ciphers.get(cipher_name)
        if cipher is None:
            if cipher_name not in self._state.plugins.ciphers:
                raise UnknownPluginError(
                    "cipher", cipher_name, self._state.plugins.ciphers.names(), path=path
                )
            if settings.raw_key is None:
                raise KeyRequiredError(
                    f"{path}: the file is encrypted", remedy="pass the store's key"
                )
            cipher = self._state.plugins.ciphers.get(cipher_name)(settings.raw_key)
            settings.ciphers[cipher_name] = cipher
        return cipher

    def _codec_for(self, settings: Settings, extension: str, path: str) -> Codec:
        codec = settings.codecs.get(extension)
        if codec is None:
            codec_class = self._state.plugins.codec_for_extension(extension)
            if codec_class is None:
                raise UnknownPluginError(
                    "codec", extension, self._state.plugins.codecs.names(), path=path
                )
            codec = settings.codecs[extension] = codec_class()
        return codec


class _FolderLister:
    """The layout's view of one commit's folders under ``root``."""

    def __init__(self, backend: Backend, commit: str, root: str = "") -> None:
        self._backend = backend
        self._commit = commit
        self._root = root

    def subfolders(self, folder: str) -> list[str]:
        if self._root:
            folder = f"{self._root}/{folder}" if folder else self._root
        return [e.name for e in self._backend.list_folder(self._commit, folder) if e.is_folder]


def _together(folders: Iterable[list[Found]], most: int) -> Iterator[list[Found]]:
    """The files of consecutive ``folders``, in order, in lists of up to ``most`` files (or
    one folder's, if more)."""
    batch: list[Found] = []
    for found in folders:
        if batch and len(batch) + len(found) > most:
            yield batch
            batch = []
        batch.extend(found)
    if batch:
        yield batch
