"""Tests of hostile input across every decoder and store: mutated files, bombs, fuzzing."""
