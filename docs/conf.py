"""Sphinx configuration for the gitblobts documentation."""

from importlib.metadata import version as _version

project = "gitblobts"
author = "gitblobts developers"
release = _version("gitblobts")
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
