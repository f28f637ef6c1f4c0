"""What both built-in backends share: folders read through each commit's trees, parsed
once and cached by id (trees never change), large ones looked up name by name, and the walk
along first parents.

A backend says how it finds a commit's root tree and reads a tree's bytes; the rest follows.
"""

from __future__ import annotations

import abc
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping

from gitblobts.core.backend import Backend, Identity, Listing, TreeEntry
from gitblobts.gitfiles import repository, treebuild, trees
from gitblobts.gitfiles.indexlock import IndexLockHolder

DEFAULT_IDENTITY = Identity("gitblobts", "gitblobts@localhost")
"""The author and committer of commits where neither the environment nor git's
configuration names one."""

TREE_CACHE = 4096
"""How many parsed trees each backend keeps."""


class TreeReadingBackend(IndexLockHolder, Backend):
    """A backend that reads folders from trees it parses itself."""

    _trees: OrderedDict[str, Mapping[str, TreeEntry]]
    _non_files: tuple[str, str, list[TreeEntry]] | None

    @classmethod
    def create_repository(cls, path: str, *, branch: str, origin: str | None) -> bool:
        return repository.create_bare(path, branch=branch, origin=origin)

    def _start_reading(self) -> None:
        """Start with no tree parsed; ``__init__`` calls it."""
        self._trees = OrderedDict()
        """Entries of recently read or written trees, by id."""
        self._non_files = None
        """The commit and folder list_files last parsed without keeping, and the entries of
        the folder but files."""

    @abc.abstractmethod
    def _root(self, commit: str) -> str:
        """The id of ``commit``'s tree."""

    @abc.abstractmethod
    def _read_tree(self, oid: str) -> bytes:
        """The bytes of tree ``oid``; the error says if it is missing or not a tree."""

    def _packed_tree(self, oid: str) -> bytes | None:
        """The bytes of tree ``oid`` if they come cheaply, else ``None``."""
        return self._read_tree(oid)

    def _packed_trees(self, oids: Iterable[str]) -> Iterator[bytes | None]:
        """:meth:`_packed_tree` of each of ``oids`` in turn, lazily (``None`` for a tree
        parsed already): a backend that reads many objects at less cost than one at a time
        overrides it."""
        for oid in oids:
            yield None if oid in self._trees else self._packed_tree(oid)

    def _tree(self, oid: str) -> Mapping[str, TreeEntry]:
        """Tree ``oid``'s entries by name, in the tree's order (not to be modified); a
        large tree's looked up in its bytes until it is listed (:class:`trees.LargeTree`)."""
        cached = self._trees.get(oid)
        if cached is not None:
            self._trees.move_to_end(oid)
            return cached
        raw = self._read_tree(oid)
        tree: Mapping[str, TreeEntry]
        if len(raw) >= trees.LARGE_TREE:
            tree = trees.LargeTree(raw, oid)
        else:
            try:
                tree = trees.parse(raw, len(oid) // 2)
            except ValueError:
                raise trees.damaged(oid) from None
        self._remember_tree(oid, tree)
        return tree

    def _remember_tree(self, oid: str, tree: Mapping[str, TreeEntry]) -> None:
        self._trees[oid] = tree
        if len(self._trees) > TREE_CACHE:
            self._trees.popitem(last=False)

    def _edit_tree(
        self, base: str | None, changes: trees.Changes, write: Callable[[list[TreeEntry]], str]
    ) -> str:
        """:func:`~gitblobts.gitfiles.trees.edit` through this backend's tree cache: each
        tree ``write`` writes is remembered."""

        def written(entries: list[TreeEntry]) -> str:
            oid = write(entries)
            self._remember_tree(oid, {entry.name: entry for entry in entries})
            return oid

        read: Callable[[str], Mapping[str, TreeEntry]] = self._tree
        if isinstance(changes, treebuild.Grouped):
            return treebuild.edit(read, written, base, changes)
        return trees.edit(read, written, base, changes)

    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str],
        message: str,
        author: Identity | None = None,
        *,
        remove: Iterable[str] = (),
    ) -> str:
        if isinstance(files, treebuild.GroupedFiles) and not remove:
            grouped = treebuild.Grouped(files.grouped_items())
            return self._commit_changes(parent, grouped, message, author)
        # Removals first, so that a path both removed and given is replaced.
        changes: list[tuple[list[str], str | None]] = [(path.split("/"), None) for path in remove]
        changes += [(path.split("/"), oid) for path, oid in files.items()]
        return self._commit_changes(parent, changes, message, author)

    @abc.abstractmethod
    def _commit_changes(
        self, parent: str | None, changes: trees.Changes, message: str, author: Identity | None
    ) -> str:
        """:meth:`write_commit`, with its files and removals as tree changes."""

    def _folder_id(self, commit: str, folder: str) -> str | None:
        """The id of ``folder``'s tree in ``commit``, ``None`` if there is no such folder."""
        tree_id = self._root(commit)
        for part in folder.split("/") if folder else ():
            entry = self._tree(tree_id).get(part)
            if entry is None or not entry.is_folder:
                return None
            tree_id = entry.oid
        return tree_id

    def list_folder(self, commit: str, folder: str) -> list[TreeEntry]:
        tree_id = self._folder_id(commit, folder)
        return [] if tree_id is None else list(self._tree(tree_id).values())

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        folder, _, name = path.rpartition("/")
        tree_id = self._folder_id(commit, folder)
        return None if tree_id is None else self._tree(tree_id).get(name)

    def list_files(self, commit: str, folder: str) -> list[tuple[str, str]]:
        tree_id = self._folder_id(commit, folder)
        if tree_id is None:
            return []
        tree = self._trees.get(tree_id)
        if tree is None:
            # A folder of blobs is read once: list its files without making entries, if it
            # is a plain tree git wrote.
            raw = self._packed_tree(tree_id)
            found = trees.split(raw, len(tree_id) // 2) if raw is not None else None
            if found is not None:
                files, others = found
                self._non_files = (commit, folder, [TreeEntry(*other) for other in others])
                return files
            tree = self._tree(tree_id)
        return [(entry.name, entry.oid) for entry in tree.values() if entry.is_file]

    def list_non_files(self, commit: str, folder: str) -> list[TreeEntry]:
        listed = self._non_files
        if listed is not None and listed[0] == commit and listed[1] == folder:
            return listed[2]  # what list_files found, parsing the tree without keeping it
        return [entry for entry in self.list_folder(commit, folder) if not entry.is_file]

    def list_folders(self, commit: str, folders: Iterable[str]) -> Iterator[Listing]:
        # Each folder's tree id comes from its parent's tree (consecutive folders share
        # one), and the folders' trees are read in one pass, split without making entries.
        tree_ids = list(self._folder_ids(commit, folders))
        raws = self._packed_trees(oid for oid in tree_ids if oid is not None)
        for tree_id in tree_ids:
            if tree_id is None:
                yield [], []
                continue
            raw = next(raws)
            tree = self._trees.get(tree_id)
            if tree is None:
                found = trees.split(raw, len(tree_id) // 2) if raw is not None else None
                if found is not None:
                    files, others = found
                    yield files, [TreeEntry(*other) for other in others] if others else []
                    continue
                tree = self._tree(tree_id)
            yield (
                [(entry.name, entry.oid) for entry in tree.values() if entry.is_file],
                [entry for entry in tree.values() if not entry.is_file],
            )

    def _folder_ids(self, commit: str, folders: Iterable[str]) -> Iterator[str | None]:
        """:meth:`_folder_id` of each of ``folders``, looked up in the parent's tree of the
        folder before when they share it."""
        parent_path: str | None = None
        parent: Mapping[str, TreeEntry] | None = None
        for folder in folders:
            if not folder:
                yield self._root(commit)
                continue
            head, _, name = folder.rpartition("/")
            if head != parent_path:
                parent_id = self._folder_id(commit, head)
                parent = None if parent_id is None else self._tree(parent_id)
                parent_path = head
            entry = None if parent is None else parent.get(name)
            yield entry.oid if entry is not None and entry.mode == trees.FOLDER_MODE else None

    def _diff_trees(self, base: str | None, tip: str, prefix: str, added: dict[str, str]) -> None:
        """Put in ``added`` the files tree ``tip`` has and tree ``base`` (``None``: none)
        lacks or holds otherwise, by path under ``prefix``, reading only the folders that
        differ."""
        if base == tip:
            return
        if base is None and self._all_files(tip, prefix, added):
            return
        before = {} if base is None else self._tree(base)
        for name, entry in self._tree(tip).items():
            old = before.get(name)
            if old == entry:
                continue
            path = prefix + name
            if entry.is_folder:
                old_tree = old.oid if old is not None and old.is_folder else None
                self._diff_trees(old_tree, entry.oid, path + "/", added)
            else:
                added[path] = entry.oid

    def _all_files(self, tree: str, prefix: str, added: dict[str, str]) -> bool:
        """:meth:`_diff_trees` of ``tree`` against nothing, from the trees' bytes, a column
        at a time (no entry objects, nothing cached: a whole store's trees are read once);
        ``False``, with nothing added, if a tree has an entry of a form it leaves to
        :meth:`_diff_trees`."""
        found: dict[str, str] = {}
        pending = [(tree, prefix)]
        while pending:
            oid, folder = pending.pop()
            entries = trees.split(self._read_tree(oid), len(oid) // 2)
            if entries is None:
                return False
            files, others = entries
            found.update((folder + name, blob) for name, blob in files)
            for name, other, mode in others:
                if mode == trees.FOLDER_MODE:
                    pending.append((other, folder + name + "/"))
                else:
                    found[folder + name] = other
        added.update(found)
        return True

    def first_parent_chain(self, tip: str, stop: str | None) -> list[str]:
        chain: list[str] = []
        commit: str | None = tip
        while commit is not None and commit != stop:
            chain.append(commit)
            commit, _ = self.commit_info(commit)
        chain.reverse()
        return chain
