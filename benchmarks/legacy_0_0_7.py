"""The gitblobts 0.0.7 half of the seed anchors of ``performance.py``.

``performance.py`` runs this file with the Python of a virtual environment holding gitblobts
0.0.7 (the seed's package, from PyPI), never with the current gitblobts:

    python legacy_0_0_7.py WORK NOW_NS BLOBS PUSHES

``WORK`` is a working tree cloned from a local bare remote, with one commit pushed (0.0.7
refuses bare repositories and repositories without a remote). Blobs are 1 KiB of random bytes,
one a minute going back from ``NOW_NS``, as in every store of ``performance.py``. Prints one
JSON object, in seconds: ``addblobs`` (BLOBS blobs, gzip and a key, one commit and one push:
0.0.7 always pushes), ``query`` (median of a one-hour ``getblobs``, 60 blobs, in that store)
and ``push`` (median of PUSHES ``addblob`` calls, each committing and pushing).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version

MINUTE = 60.0
WINDOW = 60
QUERIES = 5


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    if version("gitblobts") != "0.0.7":
        sys.exit(f"{__file__}: needs gitblobts 0.0.7, not {version('gitblobts')}")
    import gitblobts  # 0.0.7: Store, generate_key; times are float seconds

    work, now_ns, blobs, pushes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    now = now_ns / 1e9
    store = gitblobts.Store(work, compression="gzip", key=gitblobts.generate_key())
    payload = [os.urandom(1024) for _ in range(blobs)]
    times = [now - i * MINUTE for i in range(blobs)]
    ingest = timed(lambda: store.addblobs(payload, times))

    newest = blobs // 2 - WINDOW // 2  # the window is the middle hour of the store
    start, end = now - (newest + WINDOW - 1) * MINUTE, now - newest * MINUTE
    found = sum(1 for _ in store.getblobs(start, end))
    if found != WINDOW:
        sys.exit(f"{__file__}: the one-hour window holds {found} blobs, not {WINDOW}")
    query = statistics.median(
        timed(lambda: sum(1 for _ in store.getblobs(start, end))) for _ in range(QUERIES)
    )
    push = statistics.median(timed(lambda: store.addblob(os.urandom(1024))) for _ in range(pushes))
    print(json.dumps({"addblobs": ingest, "query": query, "push": push}))


if __name__ == "__main__":
    main()
