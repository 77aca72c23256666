"""Fixtures of the report's tests: results folders written by ``fixture_results``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

# the helpers next to this file (fixture_results, chromium, report_html) import by name
# whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_results import write_results  # noqa: E402


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-minute run with SLO failures, three lost orders and residue left behind."""
    return write_results(tmp_path_factory.mktemp("runs") / "failing", lost_orders=True)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("runs") / "clean", lost_orders=False)


@pytest.fixture(scope="session")
def _fixture_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.fixture
def fresh_run(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
              _fixture_cache: dict[str, Path]):
    """A results folder of one's own (to break it in a test): a copy of one written once
    per session for the same arguments."""

    def _make(name: str = "run", **kwargs) -> Path:
        key = repr(sorted(kwargs.items()))
        if key not in _fixture_cache:
            _fixture_cache[key] = write_results(tmp_path_factory.mktemp("cached") / "run",
                                                **kwargs)
        return Path(shutil.copytree(_fixture_cache[key], tmp_path / name))

    return _make
