"""How hard the security suites push: a quick default run, `MOTCUA_FULL=1` for the long run by hand."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

FULL = os.environ.get("MOTCUA_FULL") == "1"

# Hypothesis examples per property test, and schemathesis examples per API operation.
EXAMPLES = 400 if FULL else 40
SCHEMATHESIS_EXAMPLES = 200 if FULL else 5

# One server per test serves every example (function-scoped fixtures on purpose). Every example must finish
# within a generous deadline: hostile input may be refused, never make the service hang.
DEADLINE = timedelta(seconds=5)
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=not FULL,
)
