"""Tests of the built-in plugins of gitblobts.plugins: codecs, ciphers, layouts, the time parser."""
