"""Tests of the gitblobts command (gitblobts.cli), run as users run it."""
