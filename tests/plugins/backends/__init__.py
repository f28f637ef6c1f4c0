"""Tests of the backends in gitblobts.plugins.backends."""
