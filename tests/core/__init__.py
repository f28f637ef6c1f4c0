"""Tests of gitblobts.core: the Store and what it is made of (names, times, configuration,
plugins, verify)."""
