"""schemathesis hooks of ``test_openapi_contract.py`` (loaded through ``SCHEMATHESIS_HOOKS``).

An analytics computation over 5000 points costs seconds of CPU: a window the
schema allows above ``MAX_WINDOW`` is lowered to it before the call (it stays
valid, so a positive case stays positive and a negative one negative), which
keeps the contract run's CPU bill small.
"""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_WINDOW = 600


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if "/analytics/" not in case.path or not isinstance(case.query, dict):
        return
    window = case.query.get("window")
    if isinstance(window, str) and window.isascii() and window.isdigit():
        window = int(window)
    if isinstance(window, int) and not isinstance(window, bool) and MAX_WINDOW < window <= 5000:
        case.query["window"] = MAX_WINDOW
        if isinstance(kwargs.get("params"), dict):
            kwargs["params"]["window"] = MAX_WINDOW
