"""Test-wide settings.

Property tests explore new random examples on every developer run (that is
how they find bugs), but CI (``CI`` set in the environment) replays a fixed,
derandomized set so that a run's verdict depends on the code, not on luck.
A bug found locally gets a regression test of its own.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
