"""What the contract modules share: valid names, and hypothesis settings."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, settings

NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""A plugin-provided name: what core's registries accept."""


def examples(count: int) -> settings:
    """Hypothesis settings for a contract test: ``count`` examples, no deadline (plugins may
    be slow), and inherited test methods allowed (each subclass is its own executor)."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.differing_executors],
    )
