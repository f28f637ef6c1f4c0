"""Tests of the repository around the package: the benchmark scripts and the packaging."""
