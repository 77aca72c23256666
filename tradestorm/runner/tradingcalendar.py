"""Trading calendars: when a venue trades, auctions or is in maintenance (protected windows).

A calendar file (``calendars/sample-venues.yaml``)::

    venues:
      XSMP:
        timezone: America/New_York          # an IANA zone (zoneinfo)
        sessions:                            # weekly, in the venue's local time
          - {name: opening-auction, days: [mon, tue, wed, thu, fri],
             start: "09:25", end: "09:30"}
          - {name: continuous, days: [mon, tue, wed, thu, fri], start: "09:30", end: "16:00"}
        holidays: [2025-12-25]               # no session that day
        maintenance:                         # protected even on holidays
          - {name: weekly-maintenance, days: [sat], start: "02:00", end: "04:00"}
          - {name: migration, date: 2025-06-01, start: "00:00", end: "06:00"}

A window is ``[start, end)`` on one local day (a window crossing midnight is
written as two). Windows of one venue may touch but not overlap on a day.
Every mistake is an ``InputError`` naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from tradestorm.errors import InputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@dataclass(frozen=True)
class Window:
    """One protected window of a venue: weekly on ``days``, or once on ``date``."""

    venue: str
    kind: str  # "session" | "maintenance"
    name: str
    start: dt.time
    end: dt.time
    days: frozenset[int] = frozenset()
    date: dt.date | None = None

    def applies(self, day: dt.date, holidays: frozenset[dt.date]) -> bool:
        if self.date is not None:
            return day == self.date
        if self.kind == "session" and day in holidays:
            return False
        return day.weekday() in self.days


@dataclass(frozen=True)
class ActiveWindow:
    """A window in force at a given instant, with its bounds as Unix times."""

    venue: str
    kind: str
    name: str
    start: float
    end: float

    def describe(self) -> str:
        when = dt.datetime.fromtimestamp(self.start, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        until = dt.datetime.fromtimestamp(self.end, dt.UTC).strftime("%H:%M:%S")
        return f"{self.venue} {self.kind} '{self.name}' ({when} to {until} UTC)"

    def to_dict(self) -> dict[str, Any]:
        return {"venue": self.venue, "kind": self.kind, "name": self.name,
                "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Venue:
    name: str
    zone: ZoneInfo
    windows: tuple[Window, ...]
    holidays: frozenset[dt.date]


@dataclass(frozen=True)
class TradingCalendar:
    source: Path
    venues: dict[str, Venue]
    sample: bool = False

    def window_at(self, at: float, venues: list[str] | None = None) -> ActiveWindow | None:
        """The first protected window in force at ``at`` among ``venues`` (all when None)."""
        for name in venues or sorted(self.venues):
            venue = self.venues[name]
            local = dt.datetime.fromtimestamp(at, venue.zone)
            for window in venue.windows:
                if not window.applies(local.date(), venue.holidays):
                    continue
                if window.start <= local.time().replace(tzinfo=None) < window.end:
                    start = dt.datetime.combine(local.date(), window.start, venue.zone)
                    end = dt.datetime.combine(local.date(), window.end, venue.zone)
                    return ActiveWindow(name, window.kind, window.name,
                                        start.timestamp(), end.timestamp())
        return None


def _time(value: Any, source: str, field: str) -> dt.time:
    match = _TIME.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise InputError(source, field, f"expected a local time HH:MM or HH:MM:SS, got {value!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour == 24 and minute == 0 and second == 0:
        return dt.time.max
    try:
        return dt.time(hour, minute, second)
    except ValueError as exc:
        raise InputError(source, field, f"not a time of day: {value!r} ({exc})") from None


def _date(value: Any, source: str, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(source, field, f"expected a date YYYY-MM-DD, got {value!r}") from None


def _mapping(value: Any, source: str, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(source, field, "expected a mapping of fields")
    return value


def _fields(value: Any, allowed: set[str], source: str, field: str) -> dict[str, Any]:
    """``value`` as a mapping of the ``allowed`` fields only (else the first stranger named)."""
    value = _mapping(value, source, field)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(source, f"{field}.{unknown[0]}",
                         f"unknown field; allowed: {', '.join(sorted(allowed))}")
    return value


def _window(item: Any, venue: str, kind: str, source: str, field: str) -> Window:
    item = _fields(item, {"name", "days", "date", "start", "end"}, source, field)
    for key in ("start", "end"):
        if key not in item:
            raise InputError(source, f"{field}.{key}", "required field is missing")
    start = _time(item["start"], source, f"{field}.start")
    end = _time(item["end"], source, f"{field}.end")
    if end <= start:
        raise InputError(source, f"{field}.end", f"{item['end']} is not after {item['start']}; "
                         "a window crossing midnight is written as two")
    days: set[int] = set()
    date = None
    if ("days" in item) == ("date" in item):
        raise InputError(source, field, "give either 'days' (weekly) or 'date' (once)")
    if "date" in item:
        date = _date(item["date"], source, f"{field}.date")
    else:
        if not isinstance(item["days"], list) or not item["days"]:
            raise InputError(source, f"{field}.days", f"expected a list of {', '.join(DAYS)}")
        for day in item["days"]:
            if str(day).lower()[:3] not in DAYS:
                raise InputError(source, f"{field}.days",
                                 f"unknown day {day!r}; expected {', '.join(DAYS)}")
            days.add(DAYS.index(str(day).lower()[:3]))
    name = str(item.get("name") or kind)
    return Window(venue, kind, name, start, end, frozenset(days), date)


def _check_overlaps(windows: list[Window], source: str, venue: str) -> None:
    for i, a in enumerate(windows):
        for b in windows[:i]:
            same_day = (a.days & b.days) or (a.date is not None and a.date == b.date) or \
                (a.date is not None and a.date.weekday() in b.days) or \
                (b.date is not None and b.date.weekday() in a.days)
            if same_day and a.start < b.end and b.start < a.end:
                raise InputError(source, f"venues.{venue}",
                                 f"{a.kind} '{a.name}' ({a.start:%H:%M:%S}-{a.end:%H:%M:%S}) "
                                 f"overlaps {b.kind} '{b.name}' "
                                 f"({b.start:%H:%M:%S}-{b.end:%H:%M:%S})")


def load_calendar(path: Path) -> TradingCalendar:
    """Read and check a calendar file; ``InputError`` naming the file and field otherwise."""
    source = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(source, "(file)", f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InputError(source, "(file)", f"not valid YAML: {exc}") from None
    document = _mapping(document, source, "(top level)")
    unknown = sorted(set(document) - {"venues", "sample", "description"})
    if unknown:
        raise InputError(source, unknown[0], "unknown field; allowed: description, sample, "
                         "venues")
    raw = _mapping(document.get("venues"), source, "venues")
    if not raw:
        raise InputError(source, "venues", "no venue")
    venues: dict[str, Venue] = {}
    for name, spec in raw.items():
        field = f"venues.{name}"
        spec = _fields(spec, {"timezone", "sessions", "holidays", "maintenance", "description"},
                       source, field)
        zone_name = spec.get("timezone")
        if not isinstance(zone_name, str):
            raise InputError(source, f"{field}.timezone", "required: an IANA time zone name")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(source, f"{field}.timezone",
                             f"unknown time zone '{zone_name}'") from None
        windows: list[Window] = []
        for kind, key in (("session", "sessions"), ("maintenance", "maintenance")):
            items = spec.get(key) or []
            if not isinstance(items, list):
                raise InputError(source, f"{field}.{key}", "expected a list of windows")
            windows += [_window(item, str(name), kind, source, f"{field}.{key}[{i}]")
                        for i, item in enumerate(items)]
        holidays = spec.get("holidays") or []
        if not isinstance(holidays, list):
            raise InputError(source, f"{field}.holidays", "expected a list of dates")
        days = frozenset(_date(h, source, f"{field}.holidays[{i}]")
                         for i, h in enumerate(holidays))
        _check_overlaps(windows, source, str(name))
        venues[str(name)] = Venue(str(name), zone, tuple(windows), days)
    return TradingCalendar(path.resolve(), venues, bool(document.get("sample")))


def check_venues(calendar: TradingCalendar, venues: list[str], source: str, field: str) -> None:
    for venue in venues:
        if venue not in calendar.venues:
            raise InputError(source, field, f"no venue '{venue}' in {calendar.source.name} "
                             f"(it has: {', '.join(sorted(calendar.venues))})")
