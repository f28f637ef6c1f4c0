"""The benchmark scripts run end to end on tiny sizes, offline and without matplotlib. Nothing
here asserts on a time: timings belong to the benchmarks, never to the tests."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
GOALS = ("G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9")


def run(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a benchmark script; return its standard output; fail with its errors."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def performance() -> ModuleType:
    """benchmarks/performance.py as a module, for its report functions."""
    spec = importlib.util.spec_from_file_location("performance", BENCHMARKS / "performance.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_quick_run_reports_every_goal_and_skips_the_plot_without_matplotlib(
    tmp_path: Path,
) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "matplotlib.py").write_text("raise ImportError('hidden by the smoke test')\n")
    path = os.pathsep.join(p for p in (str(hidden), os.environ.get("PYTHONPATH")) if p)
    plot = tmp_path / "performance.png"

    output = run(
        "performance.py", "--quick", "--backends", "dulwich", "--no-legacy",
        "--plot", str(plot), env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip

    for goal in GOALS:
        assert re.search(rf"^{goal} +dulwich +\S", output, re.MULTILINE), output
    assert "ERROR" not in output
    assert re.search(r"^(all goals met|\d+ of \d+ goals met)", output, re.MULTILINE)
    assert "plot skipped: matplotlib is not installed" in output
    assert not plot.exists()


def test_the_markdown_results_replace_only_what_lies_between_the_markers(
    performance: ModuleType, tmp_path: Path
) -> None:
    page = tmp_path / "performance.md"
    page.write_text(
        "# Performance\n\nHow to run.\n\n"
        "<!-- results:start -->\nold\n<!-- results:end -->\n\nEnd.\n"
    )
    row = performance.Row("G1", "dulwich", "addblobs", "1 s", "3 s", 1 / 3, 0.5)

    performance.write_markdown(page, performance.results_markdown([], [row], [], None, 60.0))

    text = page.read_text()
    assert text.startswith("# Performance\n\nHow to run.\n\n<!-- results:start -->")
    assert text.endswith("<!-- results:end -->\n\nEnd.\n")
    assert "old" not in text
    assert "| G1 | dulwich | addblobs | 1 s | 3 s | 0.33 | ≤ 0.5 | MET |" in text


def test_only_the_default_backends_goals_decide_the_summary(performance: ModuleType) -> None:
    row = performance.Row
    met = row("G1", "dulwich", "addblobs", "1 s", "3 s", 0.3, 0.5)
    missed_elsewhere = row("G1", "git", "addblobs", "2 s", "3 s", 0.7, 0.5)
    information = row("G4", "dulwich", "encrypted", "9 s", "1 s", 9.0)

    assert performance.summary([met, missed_elsewhere, information]).startswith("all goals met")
    assert missed_elsewhere.verdict == "(NOT MET)"
    assert information.verdict == "info"
    assert performance.summary([met, row("G2", "dulwich", "x", "", "", 2.0, 1.2)]).startswith(
        "1 of 2 goals met"
    )


def test_the_git_backends_own_goals_decide_the_summary_too(performance: ModuleType) -> None:
    met = performance.Row("G1", "dulwich", "addblobs", "1 s", "3 s", 0.3, 0.5)
    own = performance.Row(
        "G10", "git", "addblob vs dulwich", "3 ms", "1 ms", 3.0, 2.0, decides=True
    )

    assert own.verdict == "NOT MET"
    assert performance.summary([met, own]).startswith("1 of 2 goals met")


def test_the_plot_is_a_png(performance: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    series = {"dulwich": {1000: (0.004, 0.006), 10000: (0.004, 0.006), 100000: (0.005, 0.007)}}
    plot = tmp_path / "performance.png"

    performance.draw_plot(series, plot, "a title")

    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("script", "args"),
    [("backends.py", ("--blobs", "200", "--adds", "3")), ("push.py", ("--blobs", "100"))],
)
def test_the_other_benchmarks_run(script: str, args: tuple[str, ...]) -> None:
    assert f"{args[1]} x 1 KiB blobs" in run(script, *args)


def test_the_background_pushing_benchmark_delivers_every_blob_in_few_pushes() -> None:
    printed = run(
        "background.py", "--adds", "30", "--rounds", "1", "--interval", "60",
        "--push-adds", "3", "--no-legacy", "--backends", "dulwich",
    )  # fmt: skip

    assert "a fresh clone holds all 30" in printed
    assert "1 push(es) received (at most 1." in printed  # flush's: the interval held the rest
    assert "3 push(es) received;" in printed  # push=True: one per add


def test_the_partial_clone_benchmark_reads_the_hour_right_and_fetches_only_its_blobs() -> None:
    printed = run("partial_clone.py", "--blobs", "1000", "--rounds", "1")

    assert "1000 x 1 KiB blobs" in printed
    for state in ("as written", "after git gc"):
        for backend in ("dulwich", "git"):
            label = f"{state}, {backend}"
            assert re.search(
                rf"^{label} full: 180 blobs of the hour read, all correct in 2 runs; "
                r"blob objects in the clone after the query: 1001 of 1000$",
                printed,
                re.MULTILINE,
            ), printed
            assert re.search(
                rf"^{label} partial: 180 blobs of the hour read, all correct in 2 runs; "
                r"blob objects in the clone after the query: 181 of 1000$",
                printed,
                re.MULTILINE,
            ), printed  # the hour's and the configuration
            for what in ("bytes", "time"):
                assert re.search(
                    rf"^{label}: {what} partial/full = [\d.]+ \(goal <= [\d.]+\): (met|NOT met)$",
                    printed,
                    re.MULTILINE,
                ), printed


def test_the_sharded_store_benchmark_reads_every_blob_of_its_hours_and_reports_both_goals(
    tmp_path: Path,
) -> None:
    kept = tmp_path / "sharded"
    arguments = ("--blobs", "20000", "--small", "50", "--queries", "4", "--adds", "2")
    arguments += ("--fresh", "1", "--keep", str(kept))

    first = run("sharded.py", *arguments)
    again = run("sharded.py", *arguments)  # reuses the kept store; the checks still hold

    assert "sharded store: 20,000 blobs" in first, first
    assert "built now" in first
    assert "built now" not in again
    assert "of push" in again
    for printed in (first, again):
        assert re.search(r"^  one-hour getblobs \(\d+(-\d+)? blobs an hour", printed, re.M)
        assert re.search(r"^  addblob \(push=False, now\): .* (met|NOT met)$", printed, re.M)
        assert "  first query on a freshly opened store" in printed
        assert re.search(r"^goals \(dulwich decides\): (all met|NOT all met)$", printed, re.M)
    assert len(list((kept / "store" / "gitblobts-shards").iterdir())) == 12  # monthly
    remotes = sorted((kept / "remotes").glob("blobs-*.git"))
    assert len(remotes) == 12
    for remote in remotes:  # the build's push reached every shard's remote
        subprocess.run(["git", "-C", remote, "rev-parse", "--verify", "main"], check=True)
