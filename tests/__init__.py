"""The test suite: one folder per package of gitblobts, and folders for what crosses them."""
