"""Tests of the repository as a whole: the package's shape (its architecture), the benchmark
scripts, the packaging."""
