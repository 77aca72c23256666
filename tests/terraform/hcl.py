"""Parse Terraform files with python-hcl2 into plain Python values.

python-hcl2 (v8) keeps the quotes of string literals and labels
(``'"eks"'``) and adds ``__comments__``/``__is_block__`` keys; ``load``
removes both so the tests read like the HCL.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import hcl2


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return _clean(hcl2.load(fh))


def load(path: Path) -> dict[str, Any]:
    """The parsed file (parsed once per session; a copy, so callers may change it)."""
    return copy.deepcopy(_load(Path(path).resolve()))


def blocks(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """``module``/``variable``/``output`` blocks as {label: body}."""
    out: dict[str, Any] = {}
    for entry in doc.get(kind, []):
        out.update(entry)
    return out


def labelled2(doc: dict[str, Any], kind: str) -> dict[tuple[str, str], Any]:
    """``resource``/``data`` blocks as {(type, name): body}."""
    out: dict[tuple[str, str], Any] = {}
    for entry in doc.get(kind, []):
        for rtype, by_name in entry.items():
            for name, body in by_name.items():
                out[(rtype, name)] = body
    return out
