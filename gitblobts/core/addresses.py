"""Content addresses, and where content-addressed files are kept.

An address names a blob by its contents: ``sha256-<64 lowercase hex digits>``, the SHA-256
of the blob's bytes (before compression and encryption). A file is stored under its *file
id*: without a cipher the address itself; with a cipher ``hmac256-<64 hex>``, the
HMAC-SHA256 of the SHA-256 digest under a subkey of the store's key
(:func:`gitblobts.core.keys.derive` with ``b"gitblobts content"``), so that the repository
shows no plain content hash and equal contents still map to one path.

The file of id ``<file id>``, whose 64 hex digits are ``<hex>``, is
``content/<hex[0:2]>/<hex[2:4]>/<file id>.v2[.<codec extension>][.<cipher name>]`` (a
folder of parts, named the same, when its stored form is larger than the part size: see
:mod:`gitblobts.core.parts`). The suffixes are the writer's: lookup by file id ignores
them, so contents are present when the folder holds an entry named ``<file id>.v…``.
Ciphers bind the context ``content:<file id>``, so a file renamed to another id fails to
decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

from gitblobts.core import keys, naming
from gitblobts.core.backend import Backend, TreeEntry
from gitblobts.core.errors import ArgumentError, ArgumentTypeError
from gitblobts.core.layout import FolderLister, Layout
from gitblobts.core.naming import BlobName

ALGORITHM = "sha256"
CONTENT_FOLDER = "content"
"""The root folder of content-addressed files."""
SECRET_INFO = b"gitblobts content"
"""What the subkey of keyed file ids is derived for."""
CONTEXT_PREFIX = "content:"
"""What the cipher context of a content file begins with, before its file id."""

_ADDRESS = re.compile(r"sha256-([0-9a-f]{64})")
_FILE_ID = re.compile(r"(?:sha256|hmac256)-([0-9a-f]{64})")
_SHARD = re.compile(r"[0-9a-f]{2}")
_TAIL = re.compile(r"\.v([1-9][0-9]{0,8})((?:\.[a-z0-9][a-z0-9_-]*)*)")


def is_address(value: object) -> bool:
    """Whether ``value`` is a content address (a ``str`` of the grammar exactly)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def parse_address(address: object) -> bytes:
    """The SHA-256 digest ``address`` names; :class:`ArgumentError` (or
    :class:`ArgumentTypeError`) if it is not an address."""
    if not isinstance(address, str):
        raise ArgumentTypeError(f"the address is {type(address).__name__}, not a str")
    match = _ADDRESS.fullmatch(address)
    if match is None:
        raise ArgumentError(
            f"{address[:80]!r} is not a content address: 'sha256-' and 64 lowercase hex digits"
        )
    return bytes.fromhex(match[1])


def format_address(digest: bytes) -> str:
    """The address of contents whose SHA-256 digest is ``digest``."""
    if len(digest) != hashlib.sha256().digest_size:
        raise ArgumentError(f"a SHA-256 digest is 32 bytes, not {len(digest)}")
    return f"{ALGORITHM}-{digest.hex()}"


def secret(raw_key: bytes) -> bytes:
    """The subkey keyed file ids are made with, from a store's raw key."""
    return keys.derive(raw_key, SECRET_INFO)


def file_id(digest: bytes, key_secret: bytes | None) -> str:
    """The file id of contents of SHA-256 ``digest``: the address without a secret, else
    ``hmac256-`` and the HMAC-SHA256 of the digest under ``key_secret``."""
    if key_secret is None:
        return format_address(digest)
    return "hmac256-" + hmac.new(key_secret, digest, hashlib.sha256).hexdigest()


def file_ids(digest: bytes, key_secret: bytes | None) -> tuple[str, ...]:
    """The file ids contents of ``digest`` may be stored under in a store whose key gives
    ``key_secret`` (if any): keyed first, then plain (a writer without a cipher)."""
    plain = format_address(digest)
    return (plain,) if key_secret is None else (file_id(digest, key_secret), plain)


def folder(content_id: str) -> str:
    """The folder of the file of id ``content_id``."""
    digits = content_id.partition("-")[2]
    return f"{CONTENT_FOLDER}/{digits[0:2]}/{digits[2:4]}"


def file_name(content_id: str, suffixes: tuple[str, ...]) -> str:
    """The name of the file of id ``content_id`` whose stored form carries ``suffixes``."""
    return "".join((content_id, f".v{naming.FORMAT_VERSION}", *(f".{s}" for s in suffixes)))


@dataclass(frozen=True, slots=True)
class ContentName(BlobName):
    """A content file's parsed name, as the pipeline's stages see a blob's name: no time
    (0), its identity the cipher context ``content:<file id>``, its ``str`` the file name."""

    file_id: str = ""

    def __str__(self) -> str:
        return file_name(self.file_id, self.suffixes)


def content_name(content_id: str, suffixes: tuple[str, ...], version: int = 2) -> ContentName:
    """The name of the content file of id ``content_id`` with ``suffixes``."""
    return ContentName(0, "", version, suffixes, CONTEXT_PREFIX + content_id, content_id)


def parse_name(name: str) -> ContentName | None:
    """A content file's name (no folders), parsed; ``None`` if it is not one."""
    content_id, dot, tail = name.partition(".")
    if _FILE_ID.fullmatch(content_id) is None:
        return None
    match = _TAIL.fullmatch(dot + tail)
    if match is None:
        return None
    return content_name(content_id, tuple(match[2].split(".")[1:]), int(match[1]))


def find(backend: Backend, commit: str | None, content_ids: tuple[str, ...]) -> TreeEntry | None:
    """The entry (a file, or a parted file's folder) of ``commit``'s tree holding the
    contents of one of ``content_ids`` (the first found), whatever its suffixes."""
    if commit is None:
        return None
    for content_id in content_ids:
        prefix = content_id + ".v"
        for entry in backend.list_folder(commit, folder(content_id)):
            if entry.name.startswith(prefix) and parse_name(entry.name) is not None:
                return entry
    return None


def content_id_of(path: str) -> str | None:
    """The file id of a content file at ``path``, or of the file a part at ``path``
    belongs to; ``None`` for any other path."""
    if not path.startswith(CONTENT_FOLDER + "/"):
        return None
    names = path.split("/")
    if len(names) < 4 or not all(_SHARD.fullmatch(shard) for shard in names[1:3]):
        return None
    name = parse_name(names[3])
    if name is None or folder(name.file_id) != "/".join(names[:3]):
        return None
    return name.file_id


def drop_present(backend: Backend, commit: str | None, files: MutableMapping[str, str]) -> int:
    """Remove from ``files`` (path to object id) the content files, parts included, whose
    file id ``commit``'s tree holds already (two writers put the same contents: it is kept
    once); return how many paths were removed."""
    ids = {path: content_id_of(path) for path in files if path.startswith(CONTENT_FOLDER + "/")}
    present = {cid for cid in set(ids.values()) if cid and find(backend, commit, (cid,))}
    dropped = [path for path, cid in ids.items() if cid in present]
    for path in dropped:
        del files[path]
    return len(dropped)


class ContentPlaces(Layout):
    """Where the place stage puts a content file: by its file id, under ``content/``
    (:func:`folder`), not by time; a query reads none of its folders."""

    name = "content"

    def folder(self, timestamp_ns: int) -> str:
        return CONTENT_FOLDER

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        return iter(())

    def path(self, timestamp_ns: int, filename: str) -> str:
        return f"{folder(filename.partition('.')[0])}/{filename}"


CONTENT_PLACES = ContentPlaces()
