"""Looking at a store without reading blobs back: listing, counting, verifying, and
recording its configuration (init)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator

from gitblobts.core.adding import Adding
from gitblobts.core.blob import BlobInfo
from gitblobts.core.config import StoreConfig
from gitblobts.core.content import Content
from gitblobts.core.errors import (
    ConfigError,
    CorruptBlobError,
    KeyRequiredError,
)
from gitblobts.core.formats.registry import is_unrecorded_path
from gitblobts.core.keycheck import key_problems
from gitblobts.core.keyed import Keyed
from gitblobts.core.keynames import folder_of
from gitblobts.core.naming import BlobName
from gitblobts.core.parts import SUMS, is_part_path
from gitblobts.core.pipeline import CommitContext
from gitblobts.core.reading import PartsId, Reading
from gitblobts.core.remotes import Remotes
from gitblobts.core.settings import (
    NO_CIPHER,
    Settings,
)
from gitblobts.core.state import StoreState
from gitblobts.core.verify import Problem, VerifyReport, lost_blobs, verify_tree

log = logging.getLogger("gitblobts")


def _blob_of(path: str) -> str | None:
    """The path of the blob a file at ``path`` holds: ``path`` itself for a blob file, its
    folder for a part (or ``SHA256SUMS``) of a parted blob; ``None`` for another file."""
    if is_part_path(path):
        path = path.rpartition("/")[0]
    return path if StoreState.is_blob_path(path) else None


def _key_id(path: str) -> str | None:
    """The id of the key whose folder holds ``path``, if one does."""
    found = folder_of(path)
    return None if found is None else found[1]


class Inspection:
    """Listing, counting, verifying and initializing a store."""

    def __init__(
        self,
        state: StoreState,
        reading: Reading,
        adding: Adding,
        remotes: Remotes,
        keyed: Keyed,
        content: Content,
    ) -> None:
        self._state = state
        self._keyed = keyed
        self._content = content
        self._reading = reading
        self._adding = adding
        self._remotes = remotes

    def listblobs(
        self, start_time: object, end_time: object, pull: Callable[[], object] | None
    ) -> Iterator[BlobInfo]:
        """Carries out :meth:`gitblobts.Store.listblobs`."""
        settings, head, low, high, descending = self._reading.query(start_time, end_time, pull)

        def infos() -> Iterator[BlobInfo]:
            backend = self._state.backend
            with self._state.repository_errors("read"):
                folders = self._reading.iter_folders(settings, head, low, high, descending)
                for found in self._reading.fetched(folders):
                    sizes = backend.blob_sizes(
                        [oid for *_, oid in found if not isinstance(oid, PartsId)]
                    )
                    for timestamp_ns, path, _, oid in found:
                        if isinstance(oid, PartsId):
                            assert head is not None  # a folder was found in a commit
                            size = self._parted_size(head, path)
                        else:
                            size = next(sizes)
                        yield BlobInfo(timestamp_ns, path, size)

        return infos()

    def _parted_size(self, head: str, path: str) -> int:
        """A parted blob's stored size: its parts' sizes, from their headers."""
        entries = self._state.backend.list_folder(head, path)
        oids = [entry.oid for entry in entries if is_part_path(entry.name) and entry.name != SUMS]
        self._reading.fetch_missing(oids)
        return sum(self._state.backend.blob_sizes(oids))

    def count(self, start_time: object, end_time: object) -> int:
        """Carries out :meth:`gitblobts.Store.count`."""
        settings, head, low, high, descending = self._reading.query(start_time, end_time, None)
        with self._state.repository_errors("read"):
            folders = self._reading.iter_folders(settings, head, low, high, descending)
            return sum(len(found) for found in folders)

    def verify(self, progress: Callable[[int, int], None] | None) -> VerifyReport:
        """Carries out :meth:`gitblobts.Store.verify`."""
        settings = self._state.settings
        with self._state.repository_errors("verify"):
            head = self._state.backend.resolve(self._state.branch)
            cipher = settings.config.cipher if settings.config is not None else None
            if settings.raw_key is None and cipher is not None:
                raise KeyRequiredError(
                    f"{self._state.path}: the store encrypts its blobs with {cipher!r}; verifying "
                    "them needs its key"
                )
            report = verify_tree(
                self._state.backend,
                head,
                settings.layout,
                functools.partial(self._verify_blob, settings),
                progress,
                settings.parse,
                lost=None if head is None else functools.partial(self._lost_blobs, head),
                check_parted=(
                    functools.partial(self._verify_parted, settings, head)
                    if head is not None and settings.holds_parts
                    else None
                ),
                check_content=(
                    None
                    if head is None
                    else (
                        functools.partial(self._content.verify_file, settings),
                        functools.partial(self._content.verify_parted, settings, head),
                    )
                ),
            )
            if head is None:
                return report
            read_name = functools.partial(self._keyed.read_name, settings, head)
            secret = self._keyed.secret(settings) if settings.names.records_config else None
            records, problems = key_problems(
                self._state.backend, head, secret, settings.parse, read_name
            )
            return VerifyReport(
                report.checked + records,
                tuple(sorted(report.problems + tuple(problems), key=lambda p: p.path)),
            )

    def _lost_blobs(self, head: str, names: frozenset[str]) -> list[Problem]:
        """The blobs of the branch's history that its tip ``head`` lost (see
        :func:`~gitblobts.core.verify.lost_blobs`)."""
        return lost_blobs(self._state.backend, head, names, _blob_of, is_unrecorded_path)

    def _verify_parted(self, settings: Settings, head: str, name: BlobName, path: str) -> None:
        """Read a parted blob through as a read would (in bounded memory), and check that
        queries can find it."""
        context = self._reading.read_context(settings, name, path, _key_id(path))
        for _ in self._reading.stream(head, context):
            pass
        self._check_place(settings, name, path)

    def _verify_blob(self, settings: Settings, name: BlobName, path: str, data: bytes) -> None:
        """Decode a stored file as a read would, and check that queries can find it."""
        context = self._reading.read_context(settings, name, path, _key_id(path))
        self._state.pipeline.read(context, data)
        self._check_place(settings, name, path)

    @staticmethod
    def _check_place(settings: Settings, name: BlobName, path: str) -> None:
        expected = settings.layout.path(name.timestamp_ns, path.rpartition("/")[2])
        found = folder_of(path)
        if found is not None:
            expected = f"{found[0]}/{expected}"
        if path != expected:
            raise CorruptBlobError(
                path,
                f"misplaced: layout {settings.layout.name!r} puts it at {expected}, so queries "
                "do not find it",
            )

    def configured(self) -> bool:
        """Carries out :attr:`gitblobts.Store.configured`."""
        with self._state.repository_errors("inspect"):
            return (
                self._state.read_config(self._state.backend.resolve(self._state.branch)) is not None
            )

    def init(self, push: bool | None) -> bool:
        """Carries out :meth:`gitblobts.Store.init`."""
        with self._state.repository_errors("read"):
            recorded = self._state.read_config(self._state.backend.resolve(self._state.branch))
        if recorded is not None:
            self._state.learn_config(recorded)
            settings = self._state.settings
            if not isinstance(settings.write_refusal, KeyRequiredError):
                self._check_settings(settings, recorded)
            return False
        settings = self._state.settings
        if settings.write_refusal is not None:
            raise settings.write_refusal
        if not settings.names.records_config:
            raise ConfigError(
                f"{self._state.path}: a store of {settings.names.title} records no "
                "configuration; migrate() rewrites it in the current format, which does"
            )
        self._state.pipeline.commit(
            CommitContext({}, "gitblobts: init\n", self._adding.commit_files)
        )
        if self._state.push_after_add if push is None else push:
            self._remotes.publish()
        return True

    def _check_settings(self, settings: Settings, recorded: StoreConfig) -> None:
        """Raise ConfigError if ``settings`` for new blobs differ from ``recorded``."""
        wanted = settings.new_config()
        differences = [
            f"{field} {getattr(recorded, field) or NO_CIPHER!r} (not "
            f"{getattr(wanted, field) or NO_CIPHER!r})"
            for field in ("layout", "codec", "cipher")
            if getattr(wanted, field) != getattr(recorded, field)
        ]
        if wanted.key_check != recorded.key_check:
            differences.append("a key" if recorded.key_check else "no key")
        if differences:
            raise ConfigError(
                f"{self._state.path}: the store is configured already, with "
                f"{', '.join(differences)}; a store keeps its configuration"
            )
