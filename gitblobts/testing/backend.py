"""The backend contract, as tests: see :mod:`gitblobts.core.backend`.

Every test works on real repositories made by the ``git`` command, and checks the backend's
work with it; every repository must pass ``git fsck --strict`` afterwards.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from gitblobts.core.backend import FILE_MODE, Backend
from gitblobts.core.errors import RepositoryError
from gitblobts.testing._shared import NAME

MAIN = "refs/heads/main"

MakeRepo = Callable[..., Path]
OpenBackend = Callable[[Path], Backend]


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    """Run ``git`` in ``repo`` and return its output; fail the test if git fails."""
    result = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr.decode()}"
    return result.stdout.decode("utf-8", "replace").strip()


class BackendContract:
    """Tests every backend must pass. Set ``backend_class``. Tests that take ``kind`` run on
    a bare and a non-bare repository."""

    backend_class: ClassVar[type[Backend]]

    @pytest.fixture(autouse=True)
    def _isolated_git(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Keep the machine's git configuration out of the tests."""
        home = tmp_path / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for role in ("AUTHOR", "COMMITTER"):
            monkeypatch.setenv(f"GIT_{role}_NAME", "Contract Test")
            monkeypatch.setenv(f"GIT_{role}_EMAIL", "contract@example.com")

    @pytest.fixture
    def make_repo(self, tmp_path: Path) -> Iterator[MakeRepo]:
        """``make_repo(kind)`` runs ``git init`` (``kind``: ``"bare"`` or ``"non-bare"``);
        every repository made is checked with ``git fsck --strict`` after the test."""
        made: list[Path] = []

        def make(kind: str = "non-bare") -> Path:
            path = tmp_path / f"repo{len(made)}"
            bare = ["--bare"] if kind == "bare" else []
            git(tmp_path, "init", "--quiet", *bare, str(path))
            made.append(path)
            return path

        yield make
        for path in made:
            git(path, "fsck", "--strict", "--no-progress", "--no-dangling")

    @pytest.fixture
    def open_backend(self) -> Iterator[OpenBackend]:
        """``open_backend(path)``: the backend under test on ``path``, closed afterwards."""
        opened: list[Backend] = []

        def open_(path: Path) -> Backend:
            opened.append(self.backend_class(str(path)))
            return opened[-1]

        yield open_
        for backend in opened:
            backend.close()

    @pytest.fixture(params=["bare", "non-bare"])
    def kind(self, request: pytest.FixtureRequest) -> str:
        """Each kind of repository in turn."""
        return str(request.param)

    @pytest.fixture
    def repo(self, make_repo: MakeRepo, kind: str) -> Path:
        """An empty repository of each kind."""
        return make_repo(kind)

    @pytest.fixture
    def backend(self, open_backend: OpenBackend, repo: Path) -> Backend:
        """The backend under test on ``repo``."""
        return open_backend(repo)

    @staticmethod
    def commit(backend: Backend, parent: str | None, files: dict[str, bytes], message: str) -> str:
        """Write ``files`` and a commit of them on ``parent``; return the commit id."""
        oids = backend.write_blobs(files.values())
        return backend.write_commit(parent, dict(zip(files, oids, strict=True)), message)

    # Opening

    def test_name_is_lowercase_letters_digits_dashes_and_underscores(self) -> None:
        assert NAME.fullmatch(self.backend_class.name)

    def test_opening_a_folder_that_is_no_repository_raises_repository_error(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "plain").mkdir()
        with pytest.raises(RepositoryError):
            self.backend_class(str(tmp_path / "plain"))

    def test_is_bare_tells_bare_from_non_bare(self, backend: Backend, kind: str) -> None:
        assert backend.is_bare == (kind == "bare")

    # Blobs

    def test_written_blobs_read_back_in_order(self, backend: Backend, repo: Path) -> None:
        contents = [b"", b"one", os.urandom(1 << 20), b"one"]
        oids = backend.write_blobs(iter(contents))
        assert list(backend.read_blobs(oids)) == contents

    def test_blob_ids_are_those_git_computes(self, backend: Backend, repo: Path) -> None:
        contents = [b"", b"hello\n", os.urandom(1000)]
        oids = backend.write_blobs(contents)
        assert oids == [git(repo, "hash-object", "--stdin", input=c) for c in contents]

    def test_git_reads_the_written_blobs(self, backend: Backend, repo: Path) -> None:
        data = os.urandom(1 << 20)
        (oid,) = backend.write_blobs([data])
        result = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "blob", oid], capture_output=True, check=True
        )
        assert result.stdout == data

    def test_a_repository_that_is_no_partial_clone_lacks_nothing(self, backend: Backend) -> None:
        oids = backend.write_blobs([b"one", b"two"])
        assert not backend.may_lack_objects()
        assert backend.missing(oids) == []

    def test_write_blobs_consumes_a_generator(self, backend: Backend) -> None:
        oids = backend.write_blobs(b"%d" % i for i in range(1000))
        assert len(oids) == 1000
        assert next(iter(backend.read_blobs(oids[-1:]))) == b"999"

    def test_write_blobs_runs_in_several_threads_at_once(
        self, backend: Backend, repo: Path
    ) -> None:
        # A store's threads write blobs at once, one blob or a batch each, without its lock.
        batches = [[b"%d-%d" % (n, i) for i in range(1 + 20 * (n % 2))] for n in range(6)]
        written: dict[int, Sequence[str]] = {}
        errors: list[BaseException] = []

        def write(number: int) -> None:
            try:
                written[number] = backend.write_blobs(iter(batches[number]))
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(len(batches))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        for number, batch in enumerate(batches):
            assert list(backend.read_blobs(written[number])) == batch
        listed = git(repo, "cat-file", "--batch-check", "--batch-all-objects").splitlines()
        assert len(listed) == sum(map(len, batches))

    # Commits

    def test_a_commit_tree_holds_the_parent_files_and_the_new_ones(
        self, backend: Backend, repo: Path
    ) -> None:
        first = self.commit(backend, None, {"a/b/one": b"1", "top": b"t"}, "first")
        second = self.commit(backend, first, {"a/b/two": b"2", "a/c/three": b"3"}, "second")
        listing = git(repo, "ls-tree", "-r", "--name-only", second).splitlines()
        assert listing == ["a/b/one", "a/b/two", "a/c/three", "top"]
        assert git(repo, "cat-file", "-p", f"{second}:a/c/three") == "3"
        assert git(repo, "ls-tree", "-r", first).split()[0] == f"{FILE_MODE:06o}"

    def test_a_commit_rebuilds_only_the_trees_along_changed_paths(
        self, backend: Backend, repo: Path
    ) -> None:
        first = self.commit(backend, None, {"a/x": b"x", "b/y": b"y"}, "first")
        second = self.commit(backend, first, {"a/z": b"z"}, "second")
        assert git(repo, "rev-parse", f"{first}:b") == git(repo, "rev-parse", f"{second}:b")
        assert git(repo, "rev-parse", f"{first}:a") != git(repo, "rev-parse", f"{second}:a")

    def test_a_commit_records_its_parent_and_message(self, backend: Backend) -> None:
        root = self.commit(backend, None, {"f": b"1"}, "root commit")
        child = self.commit(backend, root, {"g": b"2"}, "child commit\n\nwith a body")
        assert backend.commit_info(root) == (None, "root commit")
        parent, message = backend.commit_info(child)
        assert parent == root
        assert message.rstrip("\n") == "child commit\n\nwith a body"

    def test_a_commit_records_when_it_was_made(self, backend: Backend) -> None:
        before = int(time.time())
        commit = self.commit(backend, None, {"f": b"1"}, "now")
        assert before - 1 <= backend.commit_time(commit) <= time.time() + 1

    def test_writing_a_commit_moves_no_ref(self, backend: Backend, repo: Path) -> None:
        self.commit(backend, None, {"f": b"1"}, "loose")
        assert backend.resolve(MAIN) is None
        assert git(repo, "for-each-ref") == ""

    def test_a_different_file_at_an_existing_path_raises_repository_error(
        self, backend: Backend
    ) -> None:
        first = self.commit(backend, None, {"a/f": b"old"}, "first")
        with pytest.raises(RepositoryError):
            self.commit(backend, first, {"a/f": b"new"}, "overwrite")

    def test_a_file_where_a_folder_is_needed_raises_repository_error(
        self, backend: Backend
    ) -> None:
        first = self.commit(backend, None, {"a": b"file"}, "first")
        with pytest.raises(RepositoryError):
            self.commit(backend, first, {"a/f": b"inside"}, "under a file")

    def test_a_commit_removes_the_files_asked_and_the_folders_left_empty(
        self, backend: Backend, repo: Path
    ) -> None:
        first = self.commit(backend, None, {"-top": b"t", "a/b/one": b"1", "a/two": b"2"}, "c")
        (three,) = backend.write_blobs([b"3"])
        second = backend.write_commit(first, {"c/three": three}, "move", remove=["-top", "a/b/one"])
        listing = git(repo, "ls-tree", "-r", "-t", "--name-only", second).splitlines()
        assert listing == ["a", "a/two", "c", "c/three"]
        assert git(repo, "rev-parse", f"{first}:a/two") == git(repo, "rev-parse", f"{second}:a/two")

    def test_removing_every_file_leaves_the_empty_tree(self, backend: Backend, repo: Path) -> None:
        first = self.commit(backend, None, {"a/f": b"1"}, "first")
        second = backend.write_commit(first, {}, "empty", remove=["a/f"])
        assert git(repo, "ls-tree", "-r", second) == ""

    def test_removing_a_path_that_holds_no_file_raises_repository_error(
        self, backend: Backend
    ) -> None:
        first = self.commit(backend, None, {"a/f": b"1"}, "first")
        for path in ("missing", "a", "a/missing", "b/f"):
            with pytest.raises(RepositoryError):
                backend.write_commit(first, {}, "remove", remove=[path])

    # Refs

    def test_compare_and_swap_creates_an_absent_ref(self, backend: Backend) -> None:
        commit = self.commit(backend, None, {"f": b"1"}, "first")
        assert backend.compare_and_swap(MAIN, None, commit)
        assert backend.resolve(MAIN) == commit

    def test_compare_and_swap_does_not_create_a_ref_that_exists(self, backend: Backend) -> None:
        first = self.commit(backend, None, {"f": b"1"}, "first")
        other = self.commit(backend, None, {"g": b"2"}, "other")
        assert backend.compare_and_swap(MAIN, None, first)
        assert not backend.compare_and_swap(MAIN, None, other)
        assert backend.resolve(MAIN) == first

    def test_compare_and_swap_advances_a_ref_from_where_it_is(
        self, backend: Backend, repo: Path
    ) -> None:
        first = self.commit(backend, None, {"f": b"1"}, "first")
        second = self.commit(backend, first, {"g": b"2"}, "second")
        backend.compare_and_swap(MAIN, None, first)
        assert backend.compare_and_swap(MAIN, first, second)
        assert git(repo, "rev-parse", MAIN) == second

    def test_compare_and_swap_from_a_stale_commit_leaves_the_ref(self, backend: Backend) -> None:
        first = self.commit(backend, None, {"f": b"1"}, "first")
        second = self.commit(backend, first, {"g": b"2"}, "second")
        third = self.commit(backend, first, {"h": b"3"}, "third")
        backend.compare_and_swap(MAIN, None, first)
        backend.compare_and_swap(MAIN, first, second)
        assert not backend.compare_and_swap(MAIN, first, third)
        assert backend.resolve(MAIN) == second

    def test_concurrent_writers_retrying_compare_and_swap_lose_no_commit(
        self, open_backend: OpenBackend, repo: Path
    ) -> None:
        writers, commits_each = 4, 5
        backends = [open_backend(repo) for _ in range(writers)]
        errors: list[BaseException] = []

        def write(number: int) -> None:
            backend = backends[number]
            try:
                for index in range(commits_each):
                    (oid,) = backend.write_blobs([b"%d-%d" % (number, index)])
                    while True:
                        parent = backend.resolve(MAIN)
                        commit = backend.write_commit(parent, {f"w{number}/{index}": oid}, "add")
                        if backend.compare_and_swap(MAIN, parent, commit):
                            break
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len(git(repo, "ls-tree", "-r", "--name-only", MAIN).splitlines()) == 20
        assert git(repo, "rev-list", "--count", MAIN) == str(writers * commits_each)

    def test_head_branch_of_an_unborn_branch_is_that_branch(self, backend: Backend) -> None:
        assert backend.head_branch() == MAIN
        assert backend.resolve(MAIN) is None
        assert backend.resolve("HEAD") is None

    def test_head_branch_of_a_detached_head_is_none(
        self, make_repo: MakeRepo, open_backend: OpenBackend
    ) -> None:
        repo = make_repo("non-bare")
        git(repo, "commit", "--quiet", "--allow-empty", "-m", "start")
        git(repo, "checkout", "--quiet", "--detach")
        backend = open_backend(repo)
        assert backend.head_branch() is None
        assert backend.resolve("HEAD") == git(repo, "rev-parse", "HEAD")

    def test_resolve_reads_refs_git_wrote(self, backend: Backend, repo: Path) -> None:
        commit = self.commit(backend, None, {"f": b"1"}, "first")
        git(repo, "update-ref", "refs/heads/other", commit)
        git(repo, "pack-refs", "--all")
        assert backend.resolve("refs/heads/other") == commit
        assert backend.resolve("refs/heads/missing") is None

    # Trees

    def test_list_folder_of_a_missing_folder_is_empty(self, backend: Backend) -> None:
        commit = self.commit(backend, None, {"a/f": b"1"}, "first")
        assert backend.list_folder(commit, "nowhere") == []
        assert backend.list_folder(commit, "a/f/deeper") == []

    def test_list_folder_gives_what_git_ls_tree_gives(self, backend: Backend, repo: Path) -> None:
        commit = self.commit(backend, None, {"a/f": b"1", "a/b/g": b"2", "top": b"3"}, "c")
        for folder in ("", "a", "a/b"):
            entries = {(e.name, e.oid, e.mode) for e in backend.list_folder(commit, folder)}
            treeish = f"{commit}:{folder}" if folder else commit
            expected = set()
            for line in git(repo, "ls-tree", treeish).splitlines():
                meta, name = line.split("\t")
                mode, _, oid = meta.split()
                expected.add((name, oid, int(mode, 8)))
            assert entries == expected

    def test_entry_is_what_list_folder_lists_under_its_name(self, backend: Backend) -> None:
        many = {f"wide/{number:03d}": b"%d" % number for number in range(100)}
        commit = self.commit(backend, None, {"a/f": b"1", "a/b/g": b"2", **many}, "c")
        for path in ("a", "a/f", "a/b", "a/b/g", "wide/000", "wide/057", "wide/099"):
            folder, _, name = path.rpartition("/")
            listed = [e for e in backend.list_folder(commit, folder) if e.name == name]
            assert backend.entry(commit, path) == listed[0]
        for missing in ("nowhere", "a/nowhere", "a/f/deeper", "wide/100", "nowhere/f"):
            assert backend.entry(commit, missing) is None

    def test_list_files_and_list_non_files_share_out_what_list_folder_lists(
        self, backend: Backend
    ) -> None:
        commit = self.commit(backend, None, {"a/f": b"1", "a/b/g": b"2", "top": b"3"}, "c")
        for folder in ("", "a", "a/b", "nowhere"):
            files = backend.list_files(commit, folder)  # as a read lists them: files first
            others = backend.list_non_files(commit, folder)
            entries = backend.list_folder(commit, folder)
            assert sorted(files) == sorted((e.name, e.oid) for e in entries if e.is_file)
            assert sorted(others, key=str) == sorted((e for e in entries if not e.is_file), key=str)

    def test_list_folders_lists_each_folder_as_list_files_and_list_non_files_do(
        self, backend: Backend
    ) -> None:
        files = {"a/f": b"1", "a/b/g": b"2", "a/c/h": b"3", "top": b"4"}
        commit = self.commit(backend, None, files, "c")
        folders = ["a/b", "a/c", "", "nowhere", "a/nowhere", "a", "a/f", "a/b", "top/x"]
        listed = list(backend.list_folders(commit, iter(folders)))
        assert len(listed) == len(folders)
        for folder, (found, others) in zip(folders, listed, strict=True):
            assert found == backend.list_files(commit, folder)
            assert sorted(others, key=str) == sorted(
                backend.list_non_files(commit, folder), key=str
            )

    def test_added_files_are_those_the_tip_has_and_the_base_lacks(self, backend: Backend) -> None:
        base = self.commit(backend, None, {"a/f": b"1"}, "base")
        tip = self.commit(backend, base, {"a/g": b"2", "b/h": b"3"}, "tip")
        oids = backend.write_blobs([b"1", b"2", b"3"])
        assert backend.added_files(base, tip) == {"a/g": oids[1], "b/h": oids[2]}
        assert backend.added_files(None, tip) == {"a/f": oids[0], "a/g": oids[1], "b/h": oids[2]}

    # History

    def test_history_queries_follow_the_commit_graph(self, backend: Backend) -> None:
        root = self.commit(backend, None, {"r": b"r"}, "root")
        a = self.commit(backend, root, {"a": b"a"}, "a")
        b = self.commit(backend, a, {"b": b"b"}, "b")
        c = self.commit(backend, root, {"c": b"c"}, "c")
        assert backend.merge_base(b, c) == root
        assert backend.merge_base(a, b) == a
        assert backend.first_parent_chain(b, None) == [root, a, b]
        assert backend.first_parent_chain(b, root) == [a, b]
        assert backend.first_parent_chain(b, b) == []

    def test_unrelated_histories_have_no_merge_base(self, backend: Backend) -> None:
        one = self.commit(backend, None, {"a": b"1"}, "one")
        two = self.commit(backend, None, {"b": b"2"}, "two")
        assert backend.merge_base(one, two) is None

    # Working tree

    def test_check_out_leaves_git_status_clean(
        self, make_repo: MakeRepo, open_backend: OpenBackend
    ) -> None:
        repo = make_repo("non-bare")
        (repo / "README").write_text("hello\n")
        git(repo, "add", "README")
        git(repo, "commit", "--quiet", "-m", "start")
        backend = open_backend(repo)
        parent = backend.resolve(MAIN)
        oids = backend.write_blobs([b"1", b"2"])
        files = {"2026/11/f1": oids[0], "2026/11/f2": oids[1]}
        commit = backend.write_commit(parent, files, "add")
        assert backend.compare_and_swap(MAIN, parent, commit)
        backend.check_out(files)
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
        assert (repo / "2026/11/f2").read_bytes() == b"2"

    def test_check_out_of_removed_files_deletes_them_from_working_tree_and_index(
        self, make_repo: MakeRepo, open_backend: OpenBackend
    ) -> None:
        repo = make_repo("non-bare")
        for path in ("README", "-old", "2026/11/old"):
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(f"{path}\n")
        git(repo, "add", "--", "README", "-old", "2026/11/old")
        git(repo, "commit", "--quiet", "-m", "start")
        backend = open_backend(repo)
        parent = backend.resolve(MAIN)
        (oid,) = backend.write_blobs([b"new"])
        removed = ["-old", "2026/11/old"]
        commit = backend.write_commit(parent, {"2027/new": oid}, "replace", remove=removed)
        assert backend.compare_and_swap(MAIN, parent, commit)
        backend.check_out({"2027/new": oid}, removed)
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
        assert not (repo / "-old").exists()
        assert not (repo / "2026").exists()
        assert (repo / "2027/new").read_bytes() == b"new"

    # Remotes

    @pytest.fixture
    def remote(self, make_repo: MakeRepo, repo: Path) -> Path:
        """A bare repository, configured as ``origin`` of ``repo``."""
        remote = make_repo("bare")
        git(repo, "remote", "add", "origin", str(remote))
        return remote

    def test_remotes_are_those_configured(self, backend: Backend, remote: Path) -> None:
        assert backend.remotes() == ["origin"]

    def test_fetching_a_ref_the_remote_lacks_gives_none(
        self, backend: Backend, remote: Path
    ) -> None:
        assert backend.fetch("origin", MAIN) is None

    def test_a_pushed_commit_is_on_the_remote_and_tracked(
        self, backend: Backend, remote: Path
    ) -> None:
        commit = self.commit(backend, None, {"f": b"1"}, "first")
        assert backend.push("origin", commit, MAIN, None)
        assert git(remote, "rev-parse", MAIN) == commit
        assert backend.tracking("origin", MAIN) == commit

    def test_a_push_expecting_a_stale_commit_returns_false(
        self, backend: Backend, remote: Path
    ) -> None:
        first = self.commit(backend, None, {"f": b"1"}, "first")
        second = self.commit(backend, first, {"g": b"2"}, "second")
        other = self.commit(backend, first, {"h": b"3"}, "other")
        backend.push("origin", first, MAIN, None)
        assert backend.push("origin", second, MAIN, first)
        assert not backend.push("origin", other, MAIN, first)
        assert not backend.push("origin", other, MAIN, None)
        assert git(remote, "rev-parse", MAIN) == second

    def test_fetch_brings_the_remote_commit_and_tracks_it(
        self, make_repo: MakeRepo, open_backend: OpenBackend, backend: Backend, remote: Path
    ) -> None:
        writer = make_repo("non-bare")
        (writer / "f").write_text("1\n")
        git(writer, "add", "f")
        git(writer, "commit", "--quiet", "-m", "from elsewhere")
        git(writer, "push", "--quiet", str(remote), f"HEAD:{MAIN}")
        commit = git(writer, "rev-parse", "HEAD")
        assert backend.fetch("origin", MAIN) == commit
        assert backend.tracking("origin", MAIN) == commit
        assert backend.commit_info(commit)[0] is None

    def test_set_upstream_is_what_upstream_and_git_read(
        self, backend: Backend, repo: Path, remote: Path
    ) -> None:
        assert backend.upstream(MAIN) is None
        backend.set_upstream(MAIN, "origin", "refs/heads/stored")
        assert backend.upstream(MAIN) == ("origin", "refs/heads/stored")
        assert git(repo, "config", "branch.main.remote") == "origin"
        assert git(repo, "config", "branch.main.merge") == "refs/heads/stored"
