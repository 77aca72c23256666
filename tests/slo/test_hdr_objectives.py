"""Latency objectives judged on the load's HDR log (the answers of the phase itself), with
the reference spec, the known Prometheus data and a hand-written latency.hlog."""

from __future__ import annotations

import pytest
from hdrh.histogram import HdrHistogram
from slo_promdata import RECONCILE_OK, write_run

from slo.errors import SpecError
from slo.gate import evaluate_run
from slo.validation import load_spec


def _hlog(path, seconds, latency_of):
    """One line per second and tag; ``latency_of(t, kind, cls)`` -> list of µs or None."""
    lines = ['#[Histogram log format version 1.2]']
    for t in seconds:
        for kind in ("sent", "intended"):
            for cls in ("all", "order-entry"):
                values = latency_of(t, kind, cls)
                if values is None:
                    continue
                h = HdrHistogram(1, 3_600_000_000, 3)
                for v in values:
                    h.record_value(v)
                lines.append(f"Tag={kind}.{cls},{t:.3f},1.000,{h.get_max_value() / 1000:.3f},"
                             f"{h.encode().decode()}")
    path.write_text("\n".join(lines) + "\n")


def _run(tmp_path, known, latency_of, seconds=None):
    r = known.ref
    folder = write_run(tmp_path / "run", phases=known.phases(start=r),
                       faults=[known.fault(start=r)], prometheus_url=known.url,
                       reconcile=RECONCILE_OK)
    _hlog(folder / "latency.hlog", seconds or range(int(r), int(r) + 151), latency_of)
    return folder


def _judged(result, name):
    return {o.phase: o for o in result.objectives if o.name == name}


def test_the_recovery_phase_is_judged_on_its_own_answers(tmp_path, known):
    """The 10 s windows of the known data say 0.45 s in the fault; the log says the fault's
    answers took 1.2 s (p99) and the recovery's 20 ms: each phase gets its own figure."""
    fault_start, fault_end = known.ref + 60, known.ref + 90.4

    def latency(t, kind, cls):
        slow = fault_start <= t + 0.5 < fault_end  # the phase a second's middle is in
        if kind == "intended" and slow:
            return [1_500_000] * 20  # the stall, counted from when the orders were due
        return [1_200_000] * 20 if slow else [20_000] * 20

    result = evaluate_run(_run(tmp_path, known, latency))
    sent = _judged(result, "client-latency-p99[order-entry]")
    assert sent["fault"].value == pytest.approx(1.2, rel=1e-3)
    assert sent["recovery"].value == pytest.approx(0.02, rel=1e-3)
    assert sent["recovery"].source == "hdr:sent" and "HDR log" in sent["recovery"].detail
    assert sent["fault"].verdict == "warning"  # within 2.0 s, beyond the 1.0 s warning
    intended = _judged(result, "client-intended-latency-p99[order-entry]")
    assert intended["fault"].value == pytest.approx(1.5, rel=1e-3)
    assert intended["fault"].source == "hdr:intended"
    # reads have no twin in this log: no traffic of the class, never a pass
    reads = _judged(result, "client-latency-p99[reads]")
    assert reads["baseline"].verdict == "no_data" and "no traffic" in reads["baseline"].detail


def test_seconds_missing_from_the_log_are_a_hole(tmp_path, known):
    r = int(known.ref)
    seconds = [t for t in range(r, r + 151) if not r + 10 <= t < r + 40]  # 30 s of baseline
    result = evaluate_run(_run(tmp_path, known, lambda t, k, c: [20_000] * 5, seconds))
    baseline = _judged(result, "client-latency-p99[order-entry]")["baseline"]
    assert baseline.verdict == "no_data" and baseline.coverage == pytest.approx(0.5)
    assert "has 30 of the 60 seconds of the baseline phase" in baseline.detail
    assert result.verdict == "inconclusive"


def test_a_timeslice_objective_is_the_share_of_the_logs_seconds_that_met_it(tmp_path, known):
    """client-latency-timeslices: 95 % of the 1 s slices with p99 <= 0.5 s. In the recovery
    phase 6 of its 60 seconds answered slowly (p99 0.8 s) and 4 had no order at all: 50 of
    the 56 seconds with answers met it (0.893 < 0.95, fail); the baseline's 60 all did."""
    recovery = int(known.ref + 90.4) + 1  # the first whole second of the recovery phase

    def latency(t, kind, cls):
        if recovery + 10 <= t < recovery + 14 and cls == "order-entry":
            return None  # no order answered in these seconds: no traffic, not a slice
        if recovery <= t < recovery + 6:
            return [800_000] * 3 + [20_000] * 97
        return [20_000] * 100

    result = evaluate_run(_run(tmp_path, known, latency))
    judged = _judged(result, "client-latency-timeslices[order-entry]")
    assert judged["baseline"].verdict == "pass" and judged["baseline"].value == 1.0
    _, start, end = next(p for p in known.phases(start=known.ref) if p[0] == "recovery")
    seconds = [t for t in range(int(known.ref), int(known.ref) + 151) if start <= t + 0.5 < end]
    with_answers = len([t for t in seconds if not recovery + 10 <= t < recovery + 14])
    slow = len([t for t in seconds if recovery <= t < recovery + 6])
    assert judged["recovery"].samples == with_answers
    assert judged["recovery"].value == pytest.approx((with_answers - slow) / with_answers)
    assert judged["recovery"].verdict == "fail"
    assert judged["recovery"].source == "hdr:sent"
    assert f"{with_answers - slow} of the {with_answers} seconds" in judged["recovery"].detail


def test_a_phase_ending_inside_a_second_is_covered_by_the_seconds_mostly_inside_it(tmp_path):
    """A steady run's baseline [576.115, 584.115) whose load stopped at its end: the log's
    last line is the second 583 (584 had no answer). Each second goes to the phase holding
    most of it: 576..583, all there (the second 584 is the next phase's, or nobody's)."""
    from slo import hdr
    from slo.run import Phase

    log = tmp_path / "latency.hlog"
    _hlog(log, range(570, 584), lambda t, kind, cls: [20_000] * 3)
    value, answers, found, expected = hdr.phase_value(
        log, Phase("baseline", 576.115, 584.115), "sent", 99, "order-entry")
    assert (found, expected) == (8, 8)
    assert answers == 8 * 3 and value == pytest.approx(0.02, rel=1e-3)
    # and a phase that starts and ends mid-second takes the seconds mostly inside it
    assert hdr.phase_value(log, Phase("fault", 575.6, 578.4), "sent", 99, None)[2:] == (2, 2)


@pytest.mark.parametrize("value", ["sent", "sometimes 99", "sent 0", "intended 101"])
def test_a_bad_hdr_annotation_is_refused(tmp_path, value):
    from slo_specs import LATENCY_OBJECTIVE, write_spec

    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"))
    annotation = f"  annotations: {{tradestorm.dev/hdr: '{value}'}}\n"
    text = spec.read_text().replace("  name: latency\n", "  name: latency\n" + annotation, 1)
    spec.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert caught.value.field == "metadata.annotations.tradestorm.dev/hdr"
