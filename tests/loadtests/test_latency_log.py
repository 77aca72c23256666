"""The HDR latency log as its reader sees it: a standard HdrHistogram interval log
(``hdrh.log.HistogramLogReader`` reads it back), one line per tag and second, the
intervals of several load processes merged, absolute unix timestamps to cut at."""

from __future__ import annotations

import json
from pathlib import Path

from hdrh.log import HistogramLogReader

from loadtests.latency import IntervalRecorder, counts_index, new_histogram
from loadtests.latency_log import LatencyLog, read_totals

T0 = 1_796_600_000  # a whole unix second


def record(recorder: IntervalRecorder, second: int, values_ms: list[float],
           lateness_ms: float = 0.0, route_class: str = "order-entry") -> None:
    for ms in values_ms:
        sent = int(ms * 1000)
        recorder.record(route_class, sent, sent + int(lateness_ms * 1000), second + 0.5)


def test_intervals_of_two_processes_merge_into_one_line_per_tag_and_second(
    tmp_path: Path,
) -> None:
    one, two = IntervalRecorder(mirror_intended=False), IntervalRecorder(mirror_intended=False)
    record(one, T0, [1.0, 2.0, 3.0])
    record(two, T0, [4.0], lateness_ms=2500.0)  # sent 2.5 s after its intended time
    record(two, T0 + 1, [5.0], route_class="reads")
    log = LatencyLog(tmp_path / "latency.hlog", open_model=True, meta={"profile": "spike"})
    log.start(T0)
    log.add(one.take(everything=True))
    wire = [[s, k, c, [[i, n] for i, n in counts.items()]]
            for s, k, c, counts in two.take(everything=True)]  # as a Locust message holds them
    log.add(wire)
    log.sends.update("w1", {"scheduled": 5, "sent": 4, "dropped": 1})
    log.sends.update("w2", {"scheduled": 5, "sent": 5, "dropped": 0})
    log.close()

    text = (tmp_path / "latency.hlog").read_text()
    assert text.startswith("#[Histogram log format version 1.2]\n")
    assert f"#[StartTime: {T0}.000 (seconds since epoch)" in text
    assert "#[BaseTime: 0.000000 (seconds since epoch)]" in text
    lines = [line.split(",")[:2] for line in text.splitlines() if line.startswith("Tag=")]
    assert lines == [
        ["Tag=sent.all", f"{T0}.000"], ["Tag=sent.order-entry", f"{T0}.000"],
        ["Tag=intended.all", f"{T0}.000"], ["Tag=intended.order-entry", f"{T0}.000"],
        ["Tag=sent.all", f"{T0 + 1}.000"], ["Tag=sent.reads", f"{T0 + 1}.000"],
        ["Tag=intended.all", f"{T0 + 1}.000"], ["Tag=intended.reads", f"{T0 + 1}.000"],
    ]
    reader = HistogramLogReader(str(tmp_path / "latency.hlog"), new_histogram())
    first = reader.get_next_interval_histogram()
    assert first.get_tag() == "sent.all" and first.get_total_count() == 4
    assert first.get_start_time_stamp() == T0 * 1000.0
    reader.close()

    everything = read_totals(tmp_path / "latency.hlog")
    assert everything["sent.all"].get_total_count() == 5
    assert everything["intended.order-entry"].get_max_value() >= 2_504_000
    assert everything["sent.order-entry"].get_max_value() < 5_000
    only_second = read_totals(tmp_path / "latency.hlog", start=T0 + 1, end=T0 + 2)
    assert set(only_second) == {"sent.all", "sent.reads", "intended.all", "intended.reads"}

    sends = json.loads((tmp_path / "sends.json").read_text())
    assert (sends["scheduled"], sends["sent"], sends["dropped"]) == (10, 9, 1)
    assert sends["model"] == "open" and sends["latency_log"] == "latency.hlog"
    # the classes its users send to: an open model sends orders only
    assert sends["route_classes"] == ["order-entry"]


def test_a_closed_model_says_it_sends_to_every_route_class(tmp_path: Path) -> None:
    log = LatencyLog(tmp_path / "latency.hlog", open_model=False, meta={"profile": "steady"})
    log.start(T0)
    log.close()
    sends = json.loads((tmp_path / "sends.json").read_text())
    assert sends["model"] == "closed" and sends["scheduled"] is None
    assert sends["route_classes"] == ["order-entry", "reads", "analytics"]


def test_a_closed_model_records_intended_equal_to_sent(tmp_path: Path) -> None:
    recorder = IntervalRecorder(mirror_intended=True)
    recorder.record_sent("reads", 1234, T0 + 0.1)
    intervals = recorder.take(everything=True)
    by_kind = {kind: counts for _, kind, _, counts in intervals}
    assert by_kind["sent"] == by_kind["intended"] == {counts_index(1234): 1}


def test_values_past_an_hour_are_kept_as_an_hour() -> None:
    histogram = new_histogram()
    for value in (1, 999, 1_000_000, 3600 * 1_000_000, 10**12):
        histogram.counts[counts_index(value)] += 1
    assert counts_index(10**12) == counts_index(3600 * 1_000_000)
