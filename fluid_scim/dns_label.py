"""The one rule for a DNS label: organisation slugs, tenant hosts and credentials all use it."""

from __future__ import annotations

import re

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
