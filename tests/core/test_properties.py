"""Property-based round trips over arbitrary bytes and times."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gitblobts
from gitblobts import Nanoseconds, Store
from gitblobts.core.timestamps import MAX_NS, MIN_NS
from tests.helpers.git import assert_fsck_clean

KEY = gitblobts.generate_key()
CONFIGS = st.sampled_from(
    [
        {"compression": "none"},
        {"compression": "zstd", "key": KEY},
        {"compression": "gzip", "key": KEY, "cipher": "fernet"},
        {"compression": "lzma", "layout": "flat"},
        {"compression": "bz2", "key": KEY},
    ]
)
BATCHES = st.lists(
    st.tuples(st.binary(max_size=2048), st.integers(MIN_NS, MAX_NS)), min_size=1, max_size=8
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=CONFIGS, batch=BATCHES)
def test_any_bytes_at_any_time_read_back_in_time_order(
    config: dict[str, object], batch: list[tuple[bytes, int]]
) -> None:
    with tempfile.TemporaryDirectory() as root:
        subprocess.run(["git", "init", "-q", "--bare", root], check=True)
        store = Store(Path(root), **config)  # type: ignore[arg-type]
        store.addblobs([blob for blob, _ in batch], [Nanoseconds(ts) for _, ts in batch])

        blobs = list(store.getblobs())
        assert [b.timestamp_ns for b in blobs] == sorted(ts for _, ts in batch)
        assert sorted((b.timestamp_ns, b.blob) for b in blobs) == sorted(
            (ts, blob) for blob, ts in batch
        )
        newest_first = list(store.getblobs(float("inf"), float("-inf")))
        assert [b.path for b in newest_first] == [b.path for b in reversed(blobs)]
        assert_fsck_clean(Path(root))


@settings(max_examples=40, deadline=None)
@given(batch=BATCHES, bounds=st.tuples(st.integers(MIN_NS, MAX_NS), st.integers(MIN_NS, MAX_NS)))
def test_a_range_returns_exactly_the_blobs_inside_it(
    batch: list[tuple[bytes, int]], bounds: tuple[int, int]
) -> None:
    with tempfile.TemporaryDirectory() as root:
        subprocess.run(["git", "init", "-q", "--bare", root], check=True)
        store = Store(Path(root), compression="none")
        store.addblobs([blob for blob, _ in batch], [Nanoseconds(ts) for _, ts in batch])
        low, high = sorted(bounds)

        found = [b.timestamp_ns for b in store.getblobs(Nanoseconds(low), Nanoseconds(high))]

        assert found == sorted(ts for _, ts in batch if low <= ts <= high)
        assert_fsck_clean(Path(root))
