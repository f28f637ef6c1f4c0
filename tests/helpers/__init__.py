"""What tests import: git and its servers, repositories built by hand, hostile input, the
0.0.7 format, the command run in a subprocess. Fixtures are in ``tests/conftest.py``."""
