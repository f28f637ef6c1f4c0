"""Make ``stores.bundle`` and ``stores.json``: stores written by an earlier gitblobts, which
``tests/store/test_stored_fixtures.py`` reads back to the recorded bytes and times.

Run once, with the gitblobts whose format is to be kept, from the repository root::

    PYTHONPATH=<that gitblobts>:. python tests/store/data/make_stores.py tests/store/data

The bundle holds one branch per store; the JSON says how each was opened and what it holds
(the key is test data, not a secret). Never regenerate it to make the test pass: it is the
record of what earlier versions wrote.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import gitblobts
from tests.helpers import seedformat

KEY = "IYAjOJGd8q60mXUcARSS8YvymXSMC3m9N4NnHEa7TAQ="
TIMES = [
    -30_064_771_072,  # 1969, a name beginning with '-' in format 1
    0,
    1_500_000_000_123_456_789,
    1_500_000_000_123_456_789,  # two blobs of one time
    1_700_000_000_999_999_999,
    1_700_003_600_000_000_001,  # the next hour
]
STORES = {
    "plain-hourly": {"layout": "hourly", "compression": "zstd", "key": None},
    "encrypted-hourly": {"layout": "hourly", "compression": "zstd", "key": KEY},
    "plain-flat": {"layout": "flat", "compression": "gzip", "key": None},
    "encrypted-flat": {"layout": "flat", "compression": "none", "key": KEY},
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def blobs(name: str) -> list[bytes]:
    rng = random.Random(name)
    return [f"{name} {n} ".encode() * n + rng.randbytes(n * 7) for n in range(len(TIMES))]


def main(out: Path) -> None:
    record: dict[str, object] = {"gitblobts": gitblobts.__version__, "stores": {}}
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        git(Path(tmp), "init", "--quiet", "-b", "base", str(repo))
        git(repo, "commit", "--quiet", "--allow-empty", "-m", "base")
        for name, options in STORES.items():
            git(repo, "switch", "--quiet", "--orphan", name)
            store = gitblobts.Store(repo, branch=name, **options)  # type: ignore[arg-type]
            refs = store.addblobs(blobs(name), [gitblobts.Nanoseconds(t) for t in TIMES])
            read = list(gitblobts.Store(repo, branch=name, key=options["key"]).getblobs())
            record["stores"][name] = {  # type: ignore[index]
                "open": {"key": options["key"]},
                "blobs": [[b.timestamp_ns, b.path, b.blob.hex(), b.timestamp] for b in read],
            }
            assert sorted(r.path for r in refs) == sorted(b.path for b in read)
        name = "format-1"
        git(repo, "switch", "--quiet", "--orphan", name)
        written = seedformat.write(repo, zip(TIMES, blobs(name), strict=True), "gzip", KEY.encode())
        store = gitblobts.Store(repo, branch=name, compression="gzip", key=KEY)
        read = list(store.getblobs())
        assert [b.blob for b in read] == [w.blob for w in seedformat.expected(written)]
        record["stores"][name] = {  # type: ignore[index]
            "open": {"key": KEY, "compression": "gzip"},
            "blobs": [[b.timestamp_ns, b.path, b.blob.hex(), b.timestamp] for b in read],
        }
        branches = [*STORES, name]
        git(repo, "bundle", "create", str(out.resolve() / "stores.bundle"), *branches)
    (out / "stores.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
