"""Recovery time against many random step-shaped SLIs: exact to one sample interval.

Pure computation over in-memory series (the Prometheus round trip is covered by
test_recovery_hpa.py); hypothesis draws the shapes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promclient.series import Series
from slo.recovery import evaluate_recovery
from slo.run import Fault, Phase, RunInfo
from slo.spec import SLI, Recovery

SLI_ERRORS = SLI(name="errors", kind="threshold", query="errors")


@settings(max_examples=200, deadline=None)
@given(
    step=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    fault_end_offset=st.floats(min_value=10, max_value=50),
    recovery_delay=st.floats(min_value=0, max_value=60),
    consecutive=st.integers(min_value=1, max_value=5),
    blips=st.lists(st.floats(min_value=0, max_value=60), max_size=3),
)
def test_recovery_is_within_one_sample_of_the_truth(
    step, fault_end_offset, recovery_delay, consecutive, blips
):
    start, end = 1000.0, 1200.0
    fault_end = start + fault_end_offset
    truth = fault_end + recovery_delay  # the SLI is bad before, good from here on
    times = [start + k * step for k in range(int((end - start) / step) + 1)]
    # false recoveries before the true one: good runs one sample shorter than the
    # streak the spec asks for, separated from the true recovery by a bad sample
    false_good: set[float] = set()
    for b in blips:
        first = next((i for i, t in enumerate(times) if t >= fault_end + b), None)
        if first is None:
            continue
        run_times = times[first : first + consecutive - 1]
        around = times[max(0, first - 1) : first + consecutive]  # keep runs apart
        if run_times and run_times[-1] < truth - 2 * step and not false_good & set(around):
            false_good.update(run_times)

    def value(t: float) -> float:
        return 0.0 if t >= truth or t in false_good else 0.5

    series = Series({}, times, [value(t) for t in times])
    run = RunInfo(
        start=start,
        end=end,
        phases=(Phase("fault", start + 5, fault_end),),
        faults=(Fault("kill_replicas", "orders", start + 5, fault_end),),
    )
    item = Recovery(
        name="r",
        sli=SLI_ERRORS,
        op="<=",
        threshold=0.01,
        target_seconds=300,
        consecutive=consecutive,
    )
    (result,) = evaluate_recovery(item, run, {"errors": [series]}, step)
    first_good = min(t for t in times if t >= truth)
    if first_good + (consecutive - 1) * step > end:
        assert result.verdict == "fail" and result.seconds is None
        return
    assert result.recovered_at == first_good
    # the true instant lies in (previous sample, first good sample]
    assert truth - 1e-9 <= result.recovered_at < truth + step + 1e-9
    assert abs(result.seconds - max(0.0, truth - fault_end)) <= step + 1e-6
