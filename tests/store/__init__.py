"""Tests of whole stores, across packages: crashes, interrupts, concurrency, remotes,
durability, git interoperability, stores of gitblobts 0.0.7."""
