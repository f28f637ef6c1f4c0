"""The atheris harnesses in ``fuzz/`` run, briefly, and find nothing (see fuzz/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is not installed (a wheel on Linux x86-64)")

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
HARNESSES = sorted(FUZZ.glob("fuzz_*.py"))
RUNS = 2000


def test_there_is_a_harness_for_every_decoder() -> None:
    assert [harness.stem for harness in HARNESSES] == [
        "fuzz_ciphers",
        "fuzz_codecs",
        "fuzz_config",
        "fuzz_keys",
        "fuzz_names",
        "fuzz_names_v1",
        "fuzz_times",
    ]


@pytest.mark.parametrize("harness", HARNESSES, ids=lambda harness: harness.stem)
def test_a_short_fuzzing_run_finds_nothing(harness: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(harness),
            f"-runs={RUNS}",
            "-seed=1",
            "-timeout=10",
            "-rss_limit_mb=1024",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    output = result.stderr.decode(errors="replace")
    assert result.returncode == 0, output[-4000:]
    assert f"Done {RUNS} runs" in output
    assert not list(tmp_path.iterdir())  # no crash-, timeout- or oom- file
