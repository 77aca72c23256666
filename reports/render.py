"""The Jinja2 environment of the report: autoescaping on, strict undefined, report filters."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from reports import fmt


def verdict_class(verdict: object) -> str:
    """A CSS class for a verdict; only ``[a-z_]`` so file content never reaches markup."""
    text = re.sub(r"[^a-z_]", "_", str(verdict).lower())[:24]
    return f"v-{text}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        value=fmt.value, number=fmt.number, duration=fmt.duration, utc=fmt.utc,
        offset=fmt.offset, clock=fmt.clock, vclass=verdict_class,
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
