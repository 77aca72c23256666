"""How the load processes of a run share an arrival-rate schedule, exactly.

The schedule (:class:`loadtests.arrival.RateSchedule`) numbers the sends of the
whole run ``k = 0, 1, 2, ...``; with ``n`` load processes, process ``i`` makes the
sends with ``k % n == i`` and no other: every send belongs to exactly one
process, so the processes together send exactly the schedule's rate whatever it
is (a ramp too), and each one sends every ``n``-th, at the schedule's own times
(offset phases, no rounding of ``rate / n``). The in-flight bound is split the
same way (``B // n``, one more for the first ``B % n``; at least 1 each).

The process that plays the profile decides the split (:class:`RateSplitter`): a
standalone Locust for itself; a master for its workers, sorted by Locust client
id, sent as the custom message ``tradestorm_schedule`` ``{"t0", "from_s",
"index", "count", "in_flight"}``: ``t0`` is the unix time at which the profile
started, ``from_s`` the profile time from which the split holds. When a worker
joins or is lost the master sends a new split that holds from
:data:`LEAD_S` seconds later; until then the old one holds (a lost worker's sends
in between are not made by anyone). Every process waits for the first split
before it sends anything, so the schedule starts :data:`LEAD_S` seconds into
the profile.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

SCHEDULE_MESSAGE = "tradestorm_schedule"
LEAD_S = 1.0  # a split holds from this long after it was decided (time to deliver it)
log = logging.getLogger("tradestorm.load")


@dataclass(frozen=True)
class Assignment:
    """This process's share of the schedule from profile time ``from_s`` on."""

    t0: float  # unix time of the profile's start
    from_s: float
    index: int
    count: int
    in_flight: int

    def first_slot(self, k: int) -> int:
        """The first send at or after ``k`` that is this process's."""
        return k + (self.index - k) % self.count

    def to_message(self) -> dict[str, Any]:
        return {"t0": self.t0, "from_s": self.from_s, "index": self.index,
                "count": self.count, "in_flight": self.in_flight}

    @classmethod
    def from_message(cls, data: Any) -> Assignment | None:
        try:
            a = cls(float(data["t0"]), float(data["from_s"]), int(data["index"]),
                    int(data["count"]), int(data["in_flight"]))
        except (TypeError, KeyError, ValueError):
            return None
        if a.count < 1 or not 0 <= a.index < a.count or a.in_flight < 1:
            return None
        return a


def in_flight_share(total: int, index: int, count: int) -> int:
    """Process ``index`` of ``count``'s part of an in-flight bound of ``total``."""
    return max(1, total // count + (1 if index < total % count else 0))


class RateShare:
    """A process's assignments, newest last (what its sender follows)."""

    def __init__(self) -> None:
        self.assignments: list[Assignment] = []

    def add(self, assignment: Assignment) -> None:
        # a newer split replaces every one that would start at or after it
        self.assignments = [a for a in self.assignments if a.from_s < assignment.from_s]
        self.assignments.append(assignment)

    def at(self, t: float) -> Assignment | None:
        """The assignment that holds at profile time ``t``."""
        current = None
        for a in self.assignments:
            if a.from_s <= t:
                current = a
        return current

    def next_after(self, t: float) -> Assignment | None:
        """The first assignment that starts after profile time ``t``."""
        for a in self.assignments:
            if a.from_s > t:
                return a
        return None

    def handle(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """A worker's listener of ``tradestorm_schedule``."""
        assignment = Assignment.from_message(getattr(msg, "data", None))
        if assignment is None:
            log.error("tradestorm load: malformed %s message ignored: %r", SCHEDULE_MESSAGE,
                      getattr(msg, "data", None))
            return
        self.add(assignment)
        log.info("tradestorm load: sending every %d-th scheduled order (slot %d) from %.1f s, "
                 "in flight at most %d", assignment.count, assignment.index, assignment.from_s,
                 assignment.in_flight)


class RateSplitter:
    """Decides the split at each tick of the profile (master or standalone process)."""

    def __init__(self, runner: Any, in_flight: int, local_share: RateShare | None) -> None:
        self.runner = runner
        self.in_flight = in_flight
        self.local_share = local_share  # a standalone process: its own share
        self.t0: float | None = None
        self.nodes: tuple[str, ...] = ()

    def active_nodes(self) -> tuple[str, ...]:
        clients = self.runner.clients
        return tuple(sorted(c.id for c in (*clients.ready, *clients.spawning, *clients.running)))

    def update(self, run_time: float) -> int:
        """Send a new split when the processes changed; returns how many share the rate."""
        if self.t0 is None:
            self.t0 = time.time() - run_time
        if self.local_share is not None:
            if not self.local_share.assignments:
                self.local_share.add(Assignment(self.t0, run_time + LEAD_S, 0, 1, self.in_flight))
            return 1
        nodes = self.active_nodes()
        if nodes and nodes != self.nodes:
            from_s = run_time + LEAD_S
            for i, node in enumerate(nodes):
                share = Assignment(self.t0, from_s, i, len(nodes),
                                   in_flight_share(self.in_flight, i, len(nodes)))
                self.runner.send_message(SCHEDULE_MESSAGE, share.to_message(), client_id=node)
            log.info("tradestorm load: schedule split over %d worker(s) from %.1f s",
                     len(nodes), from_s)
            self.nodes = nodes
        return max(1, len(self.nodes))


@dataclass
class SendCounters:
    """What this process's sender did with its share: sends due, made, and dropped because
    the in-flight bound was reached (never made later)."""

    scheduled: int = 0
    sent: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"scheduled": self.scheduled, "sent": self.sent, "dropped": self.dropped}
