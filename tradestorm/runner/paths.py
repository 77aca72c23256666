"""Where scenarios, experiments and SLO specs are looked up.

A bare name (``pod-kill-orders``) is looked up in the project's folders: first
under the current directory (a checkout or a user's own project), then in the
checkout tradestorm runs from, then in the copy packaged with the wheel. A
value with a slash or a file suffix is a path: relative to the scenario file's
folder, else to the current directory, else to the project root.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

SCENARIO_SUFFIXES = (".yaml", ".yml")
EXPERIMENT_SUFFIXES = (".yaml", ".yml", ".json")
SPEC_SUFFIXES = (".yaml", ".yml")


def checkout_root() -> Path | None:
    """The source checkout tradestorm is imported from, when it is one."""
    root = Path(__file__).resolve().parents[2]
    if (root / "experiments").is_dir() and (root / "tradestorm").is_dir():
        return root
    return None


def _roots() -> list[Path]:
    roots = [Path.cwd()]
    checkout = checkout_root()
    if checkout is not None:
        roots.append(checkout)
    unique: list[Path] = []
    for root in roots:
        resolved = root.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def _packaged_scenarios() -> Path | None:
    spec = importlib.util.find_spec("tradestorm_chaos")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_data" / "scenarios"
        if candidate.is_dir():
            return candidate
    return None


def scenario_dirs() -> list[Path]:
    dirs = [root / "experiments" / "scenarios" for root in _roots()]
    packaged = _packaged_scenarios()
    if packaged is not None:
        dirs.append(packaged)
    return [d for d in dirs if d.is_dir()] or dirs[:1]


def experiment_dirs(scenario_file: Path | None = None) -> list[Path]:
    dirs: list[Path] = []
    if scenario_file is not None and scenario_file.parent.name == "scenarios":
        dirs.append(scenario_file.parent.parent.resolve())
    for root in _roots():
        candidate = (root / "experiments").resolve()
        if candidate not in dirs:
            dirs.append(candidate)
    return dirs


def spec_dirs(scenario_file: Path | None = None) -> list[Path]:
    dirs: list[Path] = []
    if scenario_file is not None and scenario_file.parent.name == "scenarios":
        dirs.append((scenario_file.parent.parent.parent / "slo" / "specs").resolve())
    for root in _roots():
        candidate = (root / "slo" / "specs").resolve()
        if candidate not in dirs:
            dirs.append(candidate)
    return dirs


def looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or Path(value).suffix.lower() in {
        ".yaml", ".yml", ".json",
    }


def find_named(name: str, dirs: Iterable[Path], suffixes: Iterable[str]) -> Path | None:
    """``dirs[i]/name.suffix`` for the first folder and suffix that exist."""
    for folder in dirs:
        for suffix in suffixes:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    return None


def find_relative(value: str, scenario_file: Path | None) -> tuple[Path | None, list[Path]]:
    """Resolve a path written in a scenario file; returns (path or None, places tried)."""
    raw = Path(value).expanduser()
    if raw.is_absolute():
        return (raw if raw.is_file() else None), [raw]
    bases: list[Path] = []
    if scenario_file is not None:
        bases.append(scenario_file.parent)
    bases.extend(_roots())
    tried: list[Path] = []
    for base in bases:
        candidate = (base / raw).resolve()
        if candidate in tried:
            continue
        tried.append(candidate)
        if candidate.is_file():
            return candidate, tried
    return None, tried


def names_in(dirs: Iterable[Path], suffixes: Iterable[str]) -> list[str]:
    names: set[str] = set()
    suffix_set = set(suffixes)
    for folder in dirs:
        if folder.is_dir():
            names.update(p.stem for p in folder.iterdir() if p.is_file() and p.suffix in suffix_set)
    return sorted(names)


def display(path: Path) -> str:
    """A path as shown in messages: relative to the current directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
