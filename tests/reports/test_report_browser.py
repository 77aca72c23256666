"""The report in a real browser: headless Chromium draws the charts and fetches nothing.

One Chromium for the module, driven over the DevTools protocol; every
``Network.requestWillBeSent`` is recorded. A screenshot is kept as
``test-artifacts/report.png``.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator

import pytest
from chromium import HeadlessChromium
from PIL import Image

from reports.build import build_report

CHART_COUNT = 8  # seven time-series panels and the experiment timeline

RECTS = """JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const r = svg.getBoundingClientRect();
  const p = svg.querySelector('rect.plot').getBoundingClientRect();
  return {id: (svg.closest('section') || {}).id || svg.getAttribute('aria-label'),
          w: r.width, h: r.height,
          plot: {x: p.x + window.scrollX, y: p.y + window.scrollY, w: p.width, h: p.height},
          drawn: svg.querySelectorAll('polyline.series, rect.bar').length,
          nodata: svg.querySelectorAll('text.nodata').length};
}))"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessChromium]:
    with HeadlessChromium(tmp_path_factory.mktemp("chromium") / "profile") as chromium:
        yield chromium


def _chart_boxes(browser: HeadlessChromium) -> list[dict]:
    import json

    return json.loads(browser.evaluate(RECTS))


def _series_pixels(image: Image.Image, box: dict) -> int:
    """Pixels of a saturated colour (series lines, bars) inside one chart's plot area
    (fault shading and grid lines are pale, labels are outside)."""
    crop = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["w"]),
                       int(box["y"] + box["h"]))).convert("HSV")
    saturation = crop.getchannel("S")
    return saturation.point(lambda v: 255 if v > 110 else 0).histogram()[255]


def test_report_renders_charts_and_makes_no_request(browser, failing_run, repo_root):
    report = build_report(failing_run)
    url = report.resolve().as_uri()
    browser.open(url)
    assert browser.requested_urls() == [url]  # the page itself, nothing else

    boxes = _chart_boxes(browser)
    assert len(boxes) == CHART_COUNT
    for box in boxes:
        assert box["w"] > 600 and box["h"] > 150, box
        assert box["drawn"] > 0 and box["nodata"] == 0, box

    png = browser.screenshot()
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "report.png").write_bytes(png)
    image = Image.open(io.BytesIO(png))
    assert image.width >= 1000 and image.height > 3000
    for box in boxes:
        assert _series_pixels(image, box["plot"]) > 300, f"{box['id']}: chart looks blank"
    verdict = browser.evaluate("getComputedStyle(document.getElementById('verdict'))"
                               ".backgroundColor")
    assert verdict == "rgb(185, 28, 28)"  # the fail colour, so the CSS applied


def test_no_data_charts_render_as_such(browser, failing_run, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(failing_run / "run.json", bare / "run.json")
    report = build_report(bare)
    browser.open(report.resolve().as_uri())
    boxes = _chart_boxes(browser)
    assert len(boxes) == CHART_COUNT - 1  # no journal: no timeline, a note instead
    assert "No Chaos Toolkit journal" in browser.evaluate("document.body.innerText")
    assert all(b["nodata"] == 1 and b["drawn"] == 0 for b in boxes)
    shown = browser.evaluate("document.body.innerText")
    assert shown.count("no data") >= CHART_COUNT - 1
    assert browser.requested_urls() == [report.resolve().as_uri()]


def test_request_recording_sees_a_fetch(browser, tmp_path):
    """The negative control: a page that does load something is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/pixel.png">')
    browser.open(page.resolve().as_uri())
    assert "http://127.0.0.1:9/pixel.png" in browser.requested_urls()


def test_hostile_report_runs_no_script(browser, tmp_path):
    from fixture_results import write_results

    report = build_report(write_results(tmp_path / "hostile", hostile=True))
    browser.open(report.resolve().as_uri())
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.images.length") == 0
    assert browser.requested_urls() == [report.resolve().as_uri()]
    assert browser.evaluate("document.querySelector('h1').textContent").endswith("</script>"
                                                                                 '<img src="https'
                                                                                 '://evil.example'
                                                                                 '/x.png">')


