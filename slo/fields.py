"""Typed field access on parsed YAML, with errors that name the file, the document
and the field path (``spec.objectives[2].op``) — the building block of spec validation."""

from __future__ import annotations

import math
import re
from typing import Any

from inputs.durations import parse_duration
from slo.errors import SpecError
from slo.spec import OP_ALIASES, OPS

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")


class Doc:
    """Typed field access on one YAML document, raising SpecError with the field path."""

    def __init__(self, source: str) -> None:
        self.source = source
        #: the PromQL queries read from this document: (field, query)
        self.queries: list[tuple[str, str]] = []

    def error(self, path: str, problem: str) -> SpecError:
        return SpecError(self.source, path or "(top level)", problem)

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"keys must be strings, got {key!r}")
        return value

    def only(self, m: dict[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in m:
            if key not in allowed:
                raise self.error(
                    join(path, key), f"unknown field; expected one of {', '.join(allowed)}"
                )

    def absent(self, m: dict[str, Any], path: str, key: str, required: bool = False) -> bool:
        """True when ``key`` is missing or null; a missing required field raises."""
        if key in m and m[key] is not None:
            return False
        if required:
            raise self.error(join(path, key), "required field is missing")
        return True

    def required(self, m: dict[str, Any], path: str, key: str) -> Any:
        self.absent(m, path, key, required=True)
        return m[key]

    def string(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: str | None = None,
        required: bool = False,
    ) -> str | None:
        if self.absent(m, path, key, required):
            return default
        value = m[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                join(path, key), f"expected a non-empty string, got {type_name(value)}"
            )
        return value.strip()

    def name(self, m: dict[str, Any], path: str, key: str = "name") -> str:
        value = self.string(m, path, key, required=True)
        assert value is not None
        if not _NAME_RE.match(value):
            raise self.error(
                join(path, key),
                f"{value!r} is not a valid name (lower-case letters, digits, '-', '_', '.')",
            )
        return value

    def number(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: float | None = None,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
    ) -> float | None:
        if self.absent(m, path, key, required):
            return default
        value = m[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.error(join(path, key), f"expected a number, got {type_name(value)}")
        if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
            relation = ">" if exclusive_minimum else ">="
            raise self.error(join(path, key), f"must be {relation} {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.error(join(path, key), f"must be <= {maximum:g}, got {value:g}")
        return float(value)

    def integer(self, m: dict[str, Any], path: str, key: str, default: int, minimum: int) -> int:
        if self.absent(m, path, key):
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(join(path, key), f"expected an integer, got {type_name(value)}")
        if value < minimum:
            raise self.error(join(path, key), f"must be >= {minimum}, got {value}")
        return value

    def boolean(self, m: dict[str, Any], path: str, key: str, default: bool) -> bool:
        if self.absent(m, path, key):
            return default
        value = m[key]
        if not isinstance(value, bool):
            raise self.error(join(path, key), f"expected true or false, got {type_name(value)}")
        return value

    def duration(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        default: float | None = None,
        required: bool = False,
    ) -> float | None:
        if self.absent(m, path, key, required):
            return default
        try:
            return parse_duration(m[key])
        except ValueError as exc:
            raise self.error(join(path, key), str(exc)) from None

    def op(
        self,
        m: dict[str, Any],
        path: str,
        key: str = "op",
        default: str | None = None,
        required: bool = True,
    ) -> str | None:
        if self.absent(m, path, key, required and default is None):
            return default
        value = m[key]
        op = OP_ALIASES.get(value, value) if isinstance(value, str) else None
        if op not in OPS:
            raise self.error(
                join(path, key),
                f"expected one of {', '.join(OPS)} (or {', '.join(OP_ALIASES)}), got {value!r}",
            )
        return op

    def percent(
        self, m: dict[str, Any], path: str, key: str, default: float | None = None
    ) -> float | None:
        """A share given as a percentage (``90`` or ``"90%"``), returned as a fraction."""
        value = m.get(key)
        if value is None:
            return default
        text = value.strip().removesuffix("%").strip() if isinstance(value, str) else value
        try:
            number = float(text) if not isinstance(text, bool) else None
        except ValueError:
            number = None
        if number is None or not 0 <= number <= 100:
            raise self.error(
                join(path, key), f"expected a percentage from 0 to 100 (e.g. 90 or '90%'), "
                f"got {value!r}"
            )
        return number / 100

    def choice(
        self,
        m: dict[str, Any],
        path: str,
        key: str,
        choices: tuple[str, ...],
        default: str | None = None,
    ) -> str | None:
        if self.absent(m, path, key):
            return default
        value = m[key]
        if value not in choices:
            raise self.error(
                join(path, key), f"expected one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def sequence(self, m: dict[str, Any], path: str, key: str) -> list[Any]:
        if self.absent(m, path, key):
            return []
        value = m[key]
        if not isinstance(value, list):
            raise self.error(join(path, key), f"expected a list, got {type_name(value)}")
        return value


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"
