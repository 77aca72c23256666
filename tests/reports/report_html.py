"""Reading a built report in tests: parsed HTML and any URL that leaves the machine."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

EXTERNAL_URL = re.compile(r"(?i)\b(?:https?|ftp|wss?)://(?!127\.0\.0\.1[:/])[^\s\"'<>)]+")


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def external_urls(html: str) -> list[str]:
    return EXTERNAL_URL.findall(html)
