"""Migrating a store of gitblobts 0.0.7 (format 1) to the current format, as the store
does it: planning and rewriting are :mod:`gitblobts.core.migration`'s; this commits the
result by compare-and-swap, pulling first and pushing after when the branch has a remote."""

from __future__ import annotations

import logging
from collections.abc import Callable

import gitblobts.core.formats.v1.migration as migration
import gitblobts.core.formats.v1.names as naming_v1
from gitblobts.core import keys, naming, retry
from gitblobts.core.cipher import Cipher
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    ArgumentError,
    ConfigError,
    ConflictError,
    KeyRequiredError,
    RemoteError,
    WrongKeyError,
)
from gitblobts.core.remotes import Remotes
from gitblobts.core.settings import (
    DEFAULT_CIPHER,
    DEFAULT_CODEC,
    DEFAULT_LAYOUT,
    NO_CIPHER,
)
from gitblobts.core.state import StoreState

log = logging.getLogger("gitblobts")


class Migrating:
    """A store's migration from gitblobts 0.0.7's format."""

    def __init__(self, state: StoreState, remotes: Remotes) -> None:
        self._state = state
        self._remotes = remotes

    def migrate(
        self,
        layout: str | None,
        compression: str | None,
        cipher: str | None,
        key: bytes | str | None,
        push: bool | None,
    ) -> migration.MigrationReport:
        """Carries out :meth:`gitblobts.Store.migrate`, with the store's locks held."""
        settings = self._state.settings
        target_key = keys.decode_key(key) if key is not None else settings.raw_key
        source = migration.Encoding(
            self._state.plugins.codecs.get(self._state.compression_option or naming_v1.NO_CODEC)(),
            self._state.plugins.ciphers.get(naming_v1.CIPHER)(settings.raw_key)
            if settings.raw_key is not None
            else None,
        )
        remote = self._remotes.target()
        publish = remote is not None and (self._state.push_after_add if push is None else push)
        migrated, last = 0, None
        self._state.migrating = True
        try:
            for _ in range(retry.REMOTE.attempts):
                if publish:
                    self._remote_step(self._remotes.pull)
                with self._state.repository_errors("migrate"):
                    head = self._state.backend.resolve(self._state.branch)
                    target, config = self._migration_target(
                        head, layout, compression, cipher, target_key
                    )
                rewriter = migration.Rewriter(
                    self._state.backend,
                    self._state.pipeline,
                    source,
                    target,
                    self._state.plugins.layouts.get(config.layout)(),
                    self._state.max_blob_size,
                    naming_v1.options_hint(
                        self._state.compression_option, settings.raw_key is not None
                    ),
                    check_source=self._state.compression_option is None,
                )
                count, commit = self._commit_migration(rewriter, config)
                migrated, last = migrated + count, commit or last
                if not publish or not self._remote_step(self._remotes.push):
                    break
                with self._state.repository_errors("migrate"):
                    head = self._state.backend.resolve(self._state.branch)
                    if not migration.format_1_files(self._state.backend, head):
                        break  # else the remote had new format-1 blobs: migrate them too
            else:
                raise ConflictError(
                    f"{self._state.path}: the remote kept receiving format-1 blobs; migrate again"
                )
        finally:
            self._state.migrating = False
        with self._state.repository_errors("migrate"):
            recorded = self._state.read_config(self._state.backend.resolve(self._state.branch))
        if recorded is not None and not self._state.settings.names.records_config:
            self._state.adopt(recorded, target_key)
        return migration.MigrationReport(migrated, last)

    def _remote_step(self, step: Callable[[], object]) -> bool:
        """Run a pull or push of a migration; whether it worked. An unreachable remote is
        logged, unless the store is strict."""
        try:
            step()
        except RemoteError as error:
            if self._state.strict:
                raise
            log.warning("%s: migrating without the remote: %s", self._state.path, error)
            return False
        return True

    def _migration_target(
        self,
        head: str | None,
        layout: str | None,
        compression: str | None,
        cipher: str | None,
        raw_key: bytes | None,
    ) -> tuple[migration.Encoding, StoreConfig]:
        """The encoding of migrated blobs, and the configuration of the migrated store: the
        one recorded already (a migration being finished), else a new one."""
        recorded = self._state.read_config(head)
        if recorded is not None:
            if layout is not None and layout != recorded.layout:
                raise ConfigError(
                    f"{self._state.path}: the store is migrated already, with layout "
                    f"{recorded.layout!r}; a store keeps its layout, so layout={layout!r} "
                    "cannot apply"
                )
            if (
                raw_key is not None
                and recorded.key_check is not None
                and not keys.matches(raw_key, recorded.key_check)
            ):
                raise WrongKeyError(
                    f"{self._state.path}: the key does not match the key the store was migrated "
                    f"with (key_check in {CONFIG_PATH})"
                )
        layout_name = recorded.layout if recorded is not None else layout or DEFAULT_LAYOUT
        if self._state.plugins.layouts.get(layout_name).name_format != naming.FORMAT_VERSION:
            raise ArgumentError(
                f"layout {layout_name!r} is not of format {naming.FORMAT_VERSION}; migrate to "
                "one that is, such as '20-second', 'hourly' or 'flat'"
            )
        codec = self._state.plugins.codecs.get(
            compression or (recorded.codec if recorded is not None else DEFAULT_CODEC)
        )()
        encryption: Cipher | None = None
        if cipher != NO_CIPHER:
            if raw_key is None:
                if cipher is not None:
                    raise KeyRequiredError(f"cipher {cipher!r} needs a key", remedy="pass key=")
            else:
                default = recorded.cipher if recorded is not None else None
                encryption = self._state.plugins.ciphers.get(cipher or default or DEFAULT_CIPHER)(
                    raw_key
                )
        config = recorded or StoreConfig(
            layout=layout_name,
            codec=codec.name,
            cipher=encryption.name if encryption is not None else None,
            key_check=keys.key_check(raw_key) if raw_key is not None else None,
        )
        return migration.Encoding(codec, encryption), config

    def _commit_migration(
        self, rewriter: migration.Rewriter, config: StoreConfig
    ) -> tuple[int, str | None]:
        """Commit the migration of every format-1 file on the branch by compare-and-swap,
        planning again on top of whatever another writer committed; return how many files
        it replaced and the commit (``None`` if there were none)."""

        def attempt() -> retry.Outcome[tuple[int, str | None]]:
            with self._state.repository_errors("migrate"):
                head = self._state.backend.resolve(self._state.branch)
                recorded = self._state.read_config(head)
                if recorded is not None and recorded.layout != rewriter.layout.name:
                    raise ConflictError(
                        f"{self._state.path}: another writer migrated the store to layout "
                        f"{recorded.layout!r} meanwhile; migrate again"
                    )
                plan = rewriter.plan(head)
                if not plan.removed:
                    return 0, None
                files = dict(plan.files)
                if recorded is None:
                    (files[CONFIG_PATH],) = self._state.backend.write_blobs([config.to_bytes()])
                count = len(plan.removed)
                message = (
                    f"gitblobts: migrate {count} {'blob' if count == 1 else 'blobs'} from "
                    "gitblobts 0.0.7's format\n"
                )
                new = self._state.backend.write_commit(head, files, message, remove=plan.removed)
                if not self._state.move_branch(head, new, files, list(plan.removed)):
                    return retry.AGAIN
                log.info("%s: migrated %d blobs in %s", self._state.path, count, new)
                return count, new

        return retry.retry(
            attempt,
            retry.COMMIT,
            lambda: ConflictError(
                f"{self._state.path}: {self._state.branch} kept moving; gave up migrating after "
                f"{retry.COMMIT.attempts} attempts; migrate again"
            ),
        )
