"""Typed reads from a results file's JSON, with errors that name the file and field.

A missing field (or ``null``) gives the default: results folders from older or
interrupted runs lack parts, and the report must still render. A field that is
present with the wrong type raises :class:`ResultsFileError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reports.errors import ResultsFileError


class Fields:
    """A JSON object from one results file, read field by field."""

    __slots__ = ("data", "path", "prefix")

    def __init__(self, data: Any, path: Path, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise ResultsFileError(path, prefix or "(top level)", "expected a JSON object")
        self.data: dict[str, Any] = data
        self.path = path
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _fail(self, key: str, expected: str) -> ResultsFileError:
        got = type(self.data[key]).__name__
        return ResultsFileError(self.path, self._name(key), f"expected {expected}, got {got}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self._fail(key, "a string")
        return str(value)

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(key, "a number")
        return float(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise self._fail(key, "an integer")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def obj(self, key: str) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._fail(key, "an object")
        return Fields(value, self.path, self._name(key))

    def raw_list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return value

    def objs(self, key: str) -> Iterator[Fields]:
        """Each item of a list of objects, as ``Fields`` named ``key[i]``."""
        for i, item in enumerate(self.raw_list(key)):
            yield Fields(item, self.path, f"{self._name(key)}[{i}]")

    def strs(self, key: str) -> list[str]:
        items = self.raw_list(key)
        for i, item in enumerate(items):
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise ResultsFileError(self.path, f"{self._name(key)}[{i}]", "expected a string")
        return [str(item) for item in items]
