"""PromQL syntax, checked by Prometheus' own parser before anything runs.

Every query of a spec goes, as a recording rule, into one temporary rules file
that ``promtool check rules`` (shipped with the distribution's ``prometheus``
package, the Prometheus the local target runs) parses with the very parser the
server uses; no server is needed. A query it refuses is a :class:`SpecError`
naming the file, the document and the field. Without ``promtool`` only the
brackets and quotes are checked here (the gate then answers a bad query as an
error, never a pass).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from slo.errors import SpecError

_RECORD = "tradestorm_query_{}"
_FAILED = re.compile(r'"tradestorm_query_(\d+)": (?:could not parse expression: )?(.*)$')
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Query:
    """One PromQL query of a spec: where it is written, and its text."""

    source: str
    field: str
    text: str


def check_queries(queries: list[Query], promtool: str | None = None) -> None:
    """Raise :class:`SpecError` for the first query that is not valid PromQL."""
    if not queries:
        return
    tool = promtool or shutil.which("promtool")
    if tool is None:
        for query in queries:
            problem = _bracket_problem(query.text)
            if problem:
                raise SpecError(query.source, query.field,
                               f"not valid PromQL ({problem}): {query.text}")
        return
    rules = {"groups": [{"name": "spec", "rules": [
        {"record": _RECORD.format(i), "expr": q.text} for i, q in enumerate(queries)]}]}
    with tempfile.TemporaryDirectory(prefix="tradestorm-promql-") as tmp:
        path = Path(tmp) / "queries.yml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        proc = subprocess.run([tool, "check", "rules", str(path)], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return
    for line in (proc.stdout + proc.stderr).splitlines():
        found = _FAILED.search(line)
        if found:
            query = queries[int(found.group(1))]
            raise SpecError(query.source, query.field,
                           f"not valid PromQL ({found.group(2)}): {query.text}")
    raise SpecError(queries[0].source, queries[0].field,
                    f"promtool refused the spec's queries: {(proc.stdout + proc.stderr)[-500:]}")


def _bracket_problem(text: str) -> str | None:
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                return f"unbalanced {char!r}"
    if quote:
        return f"unclosed {quote}"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None if text.strip() else "empty query"
