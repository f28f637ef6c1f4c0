"""The current names: the blob's UTC time and random bits, the format version, and the
suffixes of the codec and cipher (the grammar is :mod:`gitblobts.core.naming`)."""

from __future__ import annotations

from gitblobts.core import keys, naming
from gitblobts.core.backend import Backend
from gitblobts.core.blob import Blob
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import StoreConfig
from gitblobts.core.errors import GitBlobTSError
from gitblobts.core.naming import BlobName, Tail
from gitblobts.core.plugins import Plugins


class TimeNames:
    """Names of format 2, in stores that record their configuration."""

    version = naming.FORMAT_VERSION
    records_config = True
    title = f"gitblobts (format {naming.FORMAT_VERSION})"
    blob_class: type[Blob] = Blob

    def parse(self, filename: str) -> BlobName | None:
        return naming.parse(filename)

    def parse_parts(self, filename: str) -> tuple[int, Tail] | None:
        return naming.parse_parts(filename)

    def from_parts(self, filename: str, timestamp_ns: int, tail: Tail) -> BlobName:
        return naming.from_parts(filename, timestamp_ns, tail)

    def new_name(self, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        return naming.new_name(timestamp_ns, suffixes)

    def seconds_to_ns(self, seconds: float) -> int | None:
        return None

    def owns(self, path: str) -> bool:
        return naming.parse_parts(path.rpartition("/")[2]) is not None

    def on_branch(self, backend: Backend, head: str | None) -> bool:
        return False

    def new_config(
        self, layout: str, codec: Codec, cipher: Cipher | None, raw_key: bytes | None
    ) -> StoreConfig:
        return StoreConfig(
            layout=layout,
            codec=codec.name,
            cipher=cipher.name if cipher is not None else None,
            key_check=keys.key_check(raw_key) if raw_key is not None else None,
        )

    def unrecorded_stages(
        self,
        plugins: Plugins,
        path: str,
        compression: str | None,
        cipher: str | None,
        raw_key: bytes | None,
    ) -> tuple[Codec, Cipher | None, GitBlobTSError | None]:
        raise NotImplementedError("a store of time names records its configuration")

    def read_hint(self, compression: str | None, keyed: bool) -> str | None:
        return None


NAMES = TimeNames()
