"""JUnit XML for CI systems: one test case per objective and phase.

Failures are ``<failure>``, no data is ``<error>`` (a CI system shows it red,
never green), not applicable is ``<skipped>``, a warning passes with its
message in ``<system-out>``. A first test case ``slo.gate`` / ``verdict``
carries the overall verdict and its reasons (an evaluation error, Prometheus
down or a bad query, is an ``<error>`` there). Written with the standard library's ElementTree
(the format is small; a dependency would add nothing).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from slo.result import (
    ABORTED,
    ERROR,
    FAIL,
    INCONCLUSIVE,
    NO_DATA,
    NOT_APPLICABLE,
    WARNING,
    GateResult,
)


def _cases(result: GateResult) -> list[tuple[str, str, str, str]]:
    """(classname, name, verdict, message) for every judged item."""
    cases = [
        (f"slo.{o.phase}", f"{o.name} [{o.phase}]", o.verdict, o.detail) for o in result.objectives
    ]
    cases += [
        ("slo.recovery", f"{r.name} [{r.fault}]", r.verdict, r.detail) for r in result.recovery
    ]
    cases += [("slo.hpa", f"{h.name} [{h.service}]", h.verdict, h.detail) for h in result.hpa]
    if result.integrity is not None:
        cases.append(
            (
                "slo.integrity",
                "data-integrity [run]",
                result.integrity.verdict,
                result.integrity.detail,
            )
        )
    cases += [
        ("slo.comparison", f"{c.name} [{c.phase}]", c.verdict, c.detail)
        for c in result.comparison.items
    ]
    cases += [("slo.run", f"{c.name} [run]", c.verdict, c.detail) for c in result.run_checks]
    return cases


def to_xml(result: GateResult) -> ET.ElementTree:
    suite_name = f"tradestorm-slo{'.' + result.scenario if result.scenario else ''}"
    suites = ET.Element("testsuites", name="tradestorm gate")
    suite = ET.SubElement(suites, "testsuite", name=suite_name)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    # the overall verdict first: a run can fail or be inconclusive with every item
    # green (a score below the threshold, an interrupted run, nothing judged)
    reasons = "; ".join(result.reasons) or f"verdict {result.verdict}"
    score = "-" if result.score is None else f"{result.score:.1f}"
    summary = f"verdict {result.verdict}, score {score}, exit {result.exit_code}: {reasons}"
    gate = ET.SubElement(suite, "testcase", classname="slo.gate", name="verdict")
    counts["tests"] += 1
    if result.verdict == FAIL:
        ET.SubElement(gate, "failure", message=summary, type="fail").text = summary
        counts["failures"] += 1
    elif result.verdict == ABORTED:
        ET.SubElement(gate, "failure", message=summary, type="aborted").text = summary
        counts["failures"] += 1
    elif result.verdict in (ERROR, INCONCLUSIVE):
        ET.SubElement(gate, "error", message=summary, type=result.verdict).text = summary
        counts["errors"] += 1
    else:
        ET.SubElement(gate, "system-out").text = summary
    for classname, name, verdict, message in _cases(result):
        case = ET.SubElement(suite, "testcase", classname=classname, name=name)
        counts["tests"] += 1
        if verdict == FAIL:
            ET.SubElement(case, "failure", message=message, type="fail").text = message
            counts["failures"] += 1
        elif verdict == NO_DATA:
            ET.SubElement(
                case, "error", message=f"no data: {message}", type="no_data"
            ).text = message
            counts["errors"] += 1
        elif verdict == NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message=f"not applicable: {message}")
            counts["skipped"] += 1
        else:
            text = f"{'WARNING: ' if verdict == WARNING else ''}{message}"
            ET.SubElement(case, "system-out").text = text
    for k, v in counts.items():
        suite.set(k, str(v))
        suites.set(k, str(v))
    props = ET.Element("properties")
    for name, value in (
        ("verdict", result.verdict),
        ("score", "" if result.score is None else f"{result.score:.2f}"),
        ("spec", result.spec),
        ("prometheus_url", result.prometheus_url or ""),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    suite.insert(0, props)
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(result: GateResult, path: Path) -> Path:
    to_xml(result).write(path, encoding="utf-8", xml_declaration=True)
    return path
