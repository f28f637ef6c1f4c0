"""The usage examples of the seed's README (gitblobts 0.0.7) run as written.

Only the repository path is filled in, and ``urllib.request.urlopen`` serves a local PNG
because tests have no network.
"""

from __future__ import annotations

import base64
import io
import urllib.request
from pathlib import Path

import pytest

# A 1x1 PNG, the stand-in for the image the example downloads.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

STORAGE_EXAMPLE = """
from typing import Optional
import datetime, gitblobts, json, time, urllib.request

optional_compression_module_name: Optional[str] = [None, 'bz2', 'gzip', 'lzma'][2]
optional_user_saved_encryption_key: Optional[bytes] = [None, gitblobts.generate_key()][1]
store = gitblobts.Store('/path_to/preexisting_git_repo',
                        compression=optional_compression_module_name, key=optional_user_saved_encryption_key)

store.addblob('a byte encoded string'.encode())
store.addblob(b'some bytes' * 1000, timestamp=time.time())
store.addblob(blob=json.dumps([0, 1., 2.2, 3]).encode(),
              timestamp=datetime.datetime.now(datetime.timezone.utc).timestamp())
store.addblob(blob=urllib.request.urlopen('https://i.imgur.com/3GmPd7O.png').read())

store.addblobs(blobs=[b'first blob', b'another blob'])
store.addblobs(blobs=[b'A', b'B'], timestamps=[time.time(), time.time()])
"""

RETRIEVAL_EXAMPLE = """
from typing import List
from gitblobts import Blob, Store
import time

store = Store('/path_to/preexisting_git_repo', compression='gzip', key=b'JVGmuw3wRntCc7dcQHJ5q1noUs62ydR0Nw8HpyllKn8=')

blobs: List[Blob] = list(store.getblobs(pull=False))
blobs_bytes: List[bytes] = [b.blob for b in blobs]
timestamps: List[float] = [b.timestamp for b in blobs]

blobs2_ascending: List[Blob] = list(store.getblobs(start_time='midnight yesterday', end_time='now'))
blobs2_descending: List[Blob] = list(store.getblobs(start_time='now', end_time='midnight yesterday', pull=True))
blobs3_ascending: List[Blob] = list(store.getblobs(start_time=time.time() - 86400, end_time=time.time(), pull=True))
blobs3_descending: List[Blob] = list(store.getblobs(start_time=time.time(), end_time=time.time() - 86400))
"""

RETRIEVAL_KEY = b"JVGmuw3wRntCc7dcQHJ5q1noUs62ydR0Nw8HpyllKn8="


def run_example(source: str, repo: Path) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(source.replace("/path_to/preexisting_git_repo", str(repo)), namespace)
    return namespace


@pytest.fixture(autouse=True)
def _offline_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", lambda url: io.BytesIO(PNG))


def test_storage_example_runs_and_stores_its_blobs(repo: Path) -> None:
    namespace = run_example(STORAGE_EXAMPLE, repo)

    store = namespace["store"]
    assert isinstance(store, __import__("gitblobts").Store)
    blobs = [b.blob for b in store.getblobs()]
    assert blobs[:4] == [b"a byte encoded string", b"some bytes" * 1000, b"[0, 1.0, 2.2, 3]", PNG]
    assert sorted(blobs[4:]) == sorted([b"first blob", b"another blob", b"A", b"B"])


def test_retrieval_example_runs_on_a_store_written_with_its_key(repo: Path) -> None:
    import gitblobts

    writer = gitblobts.Store(repo, compression="gzip", key=RETRIEVAL_KEY)
    writer.addblob(b"from last hour", timestamp="1 hour ago")
    writer.addblob(b"from three days ago", timestamp="3 days ago")

    namespace = run_example(RETRIEVAL_EXAMPLE, repo)

    assert namespace["blobs_bytes"] == [b"from three days ago", b"from last hour"]
    assert namespace["timestamps"] == sorted(namespace["timestamps"])  # type: ignore[type-var]
    assert [b.blob for b in namespace["blobs2_ascending"]] == [b"from last hour"]  # type: ignore[attr-defined]
    assert [b.blob for b in namespace["blobs2_descending"]] == [b"from last hour"]  # type: ignore[attr-defined]
    assert [b.blob for b in namespace["blobs3_ascending"]] == [b"from last hour"]  # type: ignore[attr-defined]
    assert [b.blob for b in namespace["blobs3_descending"]] == [b"from last hour"]  # type: ignore[attr-defined]
