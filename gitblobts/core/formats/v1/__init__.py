"""The stores gitblobts 0.0.7 wrote (format 1): read, added to as they are, and migrated.

:mod:`~gitblobts.core.formats.v1.names` is the name grammar,
:mod:`~gitblobts.core.formats.v1.migration` plans and rewrites a store in the current
format, :mod:`~gitblobts.core.formats.v1.migrating` commits that. Deleting this package and
its entry in :mod:`gitblobts.core.formats.registry` drops the support.
"""

from __future__ import annotations

from gitblobts.core.backend import Backend
from gitblobts.core.blob import Blob
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import StoreConfig
from gitblobts.core.errors import ConfigError, GitBlobTSError
from gitblobts.core.formats.v1 import migration, names
from gitblobts.core.naming import BlobName, Tail
from gitblobts.core.plugins import Plugins


class V1Names:
    """Format-1 names, in stores that record no configuration."""

    version = names.FORMAT_VERSION
    records_config = False
    title = "gitblobts 0.0.7 (format 1)"
    blob_class: type[Blob] = names.V1Blob

    def parse(self, filename: str) -> BlobName | None:
        return names.parse(filename)

    def parse_parts(self, filename: str) -> tuple[int, Tail] | None:
        return names.parse_parts(filename)

    def from_parts(self, filename: str, timestamp_ns: int, tail: Tail) -> BlobName:
        return names.from_parts(filename, timestamp_ns, tail)

    def new_name(self, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        return names.new_name(timestamp_ns)  # format-1 names carry no suffixes

    def seconds_to_ns(self, seconds: float) -> int | None:
        return names.seconds_to_ns(seconds)  # any finite float, as 0.0.7 took it

    def owns(self, path: str) -> bool:
        return names.parse_parts(path.rpartition("/")[2]) is not None

    def on_branch(self, backend: Backend, head: str | None) -> bool:
        return bool(migration.format_1_files(backend, head))

    def new_config(
        self, layout: str, codec: Codec, cipher: Cipher | None, raw_key: bytes | None
    ) -> StoreConfig:
        return StoreConfig(  # what the options say; nothing is recorded
            layout=layout,
            codec=codec.name,
            cipher=cipher.name if cipher is not None else None,
            version=names.FORMAT_VERSION,
        )

    def unrecorded_stages(
        self,
        plugins: Plugins,
        path: str,
        compression: str | None,
        cipher: str | None,
        raw_key: bytes | None,
    ) -> tuple[Codec, Cipher | None, GitBlobTSError | None]:
        codec = plugins.codecs.get(compression or names.NO_CODEC)()
        new_cipher = _cipher(plugins, path, cipher, raw_key)
        refusal = None
        if codec.name not in names.CODECS:  # it may read what others wrote
            refusal = ConfigError(
                f"{path}: a store of gitblobts 0.0.7's format (layout 'v1') records "
                "no compression, and holds only what 0.0.7 reads: compression "
                f"{', '.join(repr(name) for name in names.CODECS)}, not "
                f"{codec.name!r}; for {codec.name!r}, create the store with "
                "a current layout ('20-second', 'hourly', 'flat'), or migrate() this one"
            )
        return codec, new_cipher, refusal

    def read_hint(self, compression: str | None, keyed: bool) -> str | None:
        return names.options_hint(compression, keyed)


def _cipher(
    plugins: Plugins, path: str, cipher: str | None, raw_key: bytes | None
) -> Cipher | None:
    """The cipher of format-1 files: fernet with a key, none without."""
    if cipher not in (None, names.CIPHER):
        raise ConfigError(
            f"{path}: a store of gitblobts 0.0.7 (format 1) encrypts with "
            f"{names.CIPHER!r} only; migrate() it to use cipher {cipher!r}"
        )
    if raw_key is None:
        return None
    return plugins.ciphers.get(names.CIPHER)(raw_key)


NAMES = V1Names()
