"""The HTML report in headless Chromium: it loads with no console errors and no request outside the file, shows
the verdict table and every plot, and a screenshot is kept as a test artifact (tests/artifacts/, ignored by git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.verify.chromium import Chromium, find_chromium
from tests.verify.verdicts import sample_verdict

from rigsync.verify.report import write_report
from rigsync.verify.result import Status, Verdict

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

_DOM = """(() => {
  const svgOf = f => f.querySelector('svg');
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  return {
    order: [...document.querySelectorAll('main > section')].map(s => s.id),
    overall: document.querySelector('#verdict .overall').textContent,
    checks: [...document.querySelectorAll('#checks tbody tr')].filter(r => r.querySelector('td'))
              .map(r => [...r.cells].map(c => c.textContent)),
    sections: [...document.querySelectorAll('#checks tbody')]
                .map(b => [...b.querySelectorAll('td.status')].map(c => c.textContent)),
    plots: [...document.querySelectorAll('#plots figure')].map(f => ({
      id: f.id, kind: f.dataset.kind,
      title: svgOf(f) ? document.getElementById(svgOf(f).getAttribute('aria-labelledby').split(' ')[0]).textContent
                      : null,
      width: svgOf(f) ? svgOf(f).getBoundingClientRect().width : 0,
      height: svgOf(f) ? svgOf(f).getBoundingClientRect().height : 0,
      text: svgOf(f) ? svgOf(f).textContent : ''})),
    brokenLinks: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1))
                   .filter(id => !document.getElementById(id)),
    duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i),
  };
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    where = tmp_path_factory.mktemp("chromium")
    with Chromium(executable, where / "profile", where / "chromium.log") as chromium:
        yield chromium


def _open(browser: Chromium, verdict: Verdict, path: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    write_report(verdict, path)
    url = path.resolve().as_uri()
    load = browser.load(url)
    outside = [u for u in load.requests if u != url]
    return browser.evaluate(_DOM), load.console_errors, outside


def test_the_harness_sees_console_errors_and_requests(browser: Chromium, tmp_path: Path) -> None:
    """The browser harness itself: a page's console.error, uncaught exception and remote image are all reported."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><title>bad</title><img alt="x" src="http://rigsync.invalid/x.png">'
                    '<script>console.error("boom"); undefinedFunction();</script></html>')
    load = browser.load(page.as_uri())
    assert any("boom" in e for e in load.console_errors)
    assert any("undefinedFunction" in e or "Uncaught" in e for e in load.console_errors)
    assert "http://rigsync.invalid/x.png" in load.requests


def _shows_everything(browser: Chromium, verdict: Verdict, where: Path, artifact: str) -> dict[str, Any]:
    """Load the report of ``verdict``; assert it is clean and shows every check and plot; keep a screenshot."""
    dom, errors, outside = _open(browser, verdict, where / f"{artifact}.html")
    assert errors == [] and outside == []
    assert dom["order"] == ["verdict", "plots", "rig", "methods"]
    assert dom["overall"] == ("PASS" if verdict.passed else "FAIL")
    rows = sorted((c.status.value, c.title, c.subject) for c in verdict.checks)
    assert sorted((r[0], r[1], r[2]) for r in dom["checks"]) == rows
    order = ["fail", "warn", "pass", "skip"]
    for section in dom["sections"]:  # failures first in each method's rows
        assert section == sorted(section, key=order.index)
    plots = [p for s in verdict.sections for p in s.plots]
    shown = dom["plots"]
    assert [(f["id"], f["kind"], f["title"]) for f in shown] == [(f"plot-{p.key}", p.kind, p.title) for p in plots]
    for figure, plot in zip(shown, plots, strict=True):
        assert figure["width"] > 600 and figure["height"] > 200, figure["id"]
        assert all(s.label in figure["text"] for s in plot.series if len(plot.series) > 1), figure["id"]
    assert dom["brokenLinks"] == [] and dom["duplicateIds"] == []

    shot = where / f"{artifact}.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    ARTIFACTS.mkdir(exist_ok=True)
    for kept in (shot, where / f"{artifact}.html"):
        shutil.copy(kept, ARTIFACTS / kept.name)
    print(f"report screenshot: {ARTIFACTS / shot.name}")
    return dom


def test_report_loads_clean_with_the_verdict_table_and_every_plot(browser: Chromium, tmp_path: Path) -> None:
    """The report loads with no console error and no request outside the file; the table and each plot render."""
    _shows_everything(browser, sample_verdict(), tmp_path, "report")


def test_report_of_a_stamp_verification_of_a_simulated_capture(browser: Chromium, tmp_path: Path) -> None:
    """A real verdict (a Genlock camera loses its trigger for 1 s) renders clean: FAIL, naming that camera."""
    run = pytest.importorskip("rigsync.verify.run", reason="stamp verification not on this branch (i10-stamps)")
    rigs = pytest.importorskip("tests.verify.rigs", reason="the stamp tests' rigs not on this branch (i10-stamps)")
    recording = rigs.capture(rigs.GENLOCK + rigs.fault("trigger-loss", 1.0, 1.0, device="rs-b"),
                             tmp_path / "genlock.mcap", 3.0)
    verdict = run.verify_recording(recording)
    assert not verdict.passed and any(c.status is Status.FAIL and "rs-b" in c.devices for c in verdict.checks)
    dom = _shows_everything(browser, verdict, tmp_path, "report-stamps")
    assert any(row[0] == "fail" and row[-1] == "rs-b" for row in dom["checks"])
