"""The core of gitblobts: the store, the pipeline, plugin contracts and loading, time
handling, naming and errors. Built-in plugins live in :mod:`gitblobts.plugins`."""
