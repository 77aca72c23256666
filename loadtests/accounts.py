"""The demo accounts the load runs as (docs/contracts.md §1.3).

The file is ``{"accounts": [{"account_id", "name", "api_key"}, ...]}`` as printed
by ``tradeplat seed`` and stored by the local target in ``STATE/accounts.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loadtests.errors import ConfigError


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    api_key: str

    def __repr__(self) -> str:  # never print a key in logs
        return f"Account(account_id={self.account_id!r}, name={self.name!r})"


def load_accounts(path: Path) -> list[Account]:
    """Read and validate an accounts file; ``ConfigError`` names the field at fault."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "accounts", "file not found") from None
    except OSError as exc:
        raise ConfigError(path, "accounts", f"cannot be read: {exc.strerror}") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            path, "accounts", f"not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("accounts"), list):
        raise ConfigError(path, "accounts", 'expected an object {"accounts": [...]}')
    items = doc["accounts"]
    if not items:
        raise ConfigError(path, "accounts", "the list is empty: seed accounts first")
    accounts: list[Account] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(path, f"accounts[{i}]", "expected an object")
        for key in ("account_id", "api_key"):
            value = item.get(key)
            if not isinstance(value, str) or not value:
                raise ConfigError(path, f"accounts[{i}].{key}", "missing or not a non-empty string")
        if item["account_id"] in seen:
            raise ConfigError(
                path, f"accounts[{i}].account_id", f"duplicate {item['account_id']!r}"
            )
        seen.add(item["account_id"])
        name = item.get("name")
        accounts.append(
            Account(
                account_id=item["account_id"],
                name=name if isinstance(name, str) else item["account_id"],
                api_key=item["api_key"],
            )
        )
    return accounts
