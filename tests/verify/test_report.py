"""The HTML report and the PNGs: what the page says, that it refers to nothing outside itself, and that the same
verdict always gives the same bytes."""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape
from pathlib import Path

import cv2
import pytest
from tests.verify.verdicts import passing_verdict, sample_verdict

from rigsync.core.errors import RigsyncError
from rigsync.verify.report import write_pngs, write_report
from rigsync.verify.result import Plot, Section, Series, Verdict

_REFERENCE = re.compile(r"""(?:\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?|url\(\s*["']?"""
                        r"""|@import\s+["']?)([^"')\s>]*)""", re.IGNORECASE)


def _page(tmp_path: Path, verdict: Verdict, **kw: str) -> str:
    path = tmp_path / "report.html"
    write_report(verdict, path, **kw)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample verdict's page, rendered once for the tests that only read it."""
    return _page(tmp_path_factory.mktemp("report"), sample_verdict())


def _section(page: str, section_id: str) -> str:
    start = page.index(f'<section id="{section_id}"')
    return page[start:page.index("</section>", start)]


def test_report_refers_to_nothing_outside_itself(sample_page: str) -> None:
    """Every src/href/url() in the page is an anchor in it or a data: URI: it opens offline as one file."""
    page = sample_page
    references = _REFERENCE.findall(page)
    assert references, "the page has internal links: the pattern must find them"
    assert [r for r in references if not r.startswith(("#", "data:"))] == []
    assert "<script" not in page and "<link" not in page.lower()


def test_same_verdict_gives_the_same_bytes_and_no_date(sample_page: str, tmp_path: Path) -> None:
    """Rendering twice gives identical files; no date is written unless one is passed in (then it is shown)."""
    first = sample_page
    assert _page(tmp_path, sample_verdict()) == first
    assert "dc:date" not in first and "Generated" not in first and "matplotlib v" not in first.lower()
    assert "Generated 2026-12-01 00:00 UTC" in _page(tmp_path, sample_verdict(), generated="2026-12-01 00:00 UTC")


def test_verdict_comes_first_with_every_check_in_its_table(sample_page: str) -> None:
    """Overall FAIL, counts, the failing device, then a row per check (failures first) with figure, limit, detail."""
    page = sample_page
    assert page.index('id="verdict"') < page.index('id="plots"') < page.index('id="rig"') < page.index('id="methods"')
    table = _section(page, "verdict")
    assert '<p class="overall fail" role="status">FAIL</p>' in table
    assert "6 checks: 3 passed, 1 failed, 1 warning, 1 skipped" in table
    assert "Devices that failed a check: rs-right" in table
    rows = re.findall(r'<tr class="(\w+)">(.*?)</tr>', table)
    assert [status for status, _ in rows] == ["fail", "warn", "pass", "pass", "skip", "pass"]  # failures first
    assert [re.search(r"#method-([\w-]+)", r).group(1) for _, r in rows] == [
        "skew", "drift", "skew", "drops", "ptp-offset", "ledclock-skew"]
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows[0][1])]
    assert cells == ["fail", "Inter-camera skew p99", "group realsense", "8,311.6 us", "50 us",
                     "rs-right lost its Genlock trigger at 4.2 s: its frames drift a frame apart.", "rs-right"]
    assert "PTP offset &lt;max&gt;" in table and "<max>" not in table  # text is escaped
    assert '<td class="num">-</td>' in table  # a skipped check has no figure
    assert "<dt>frames decoded</dt><dd>118 of 120</dd>" in table


def test_passing_verdict_says_pass(tmp_path: Path) -> None:
    """A verdict with warnings and skips but no failure is a PASS, naming no offending device."""
    table = _section(_page(tmp_path, passing_verdict()), "verdict")
    assert '<p class="overall pass" role="status">PASS</p>' in table and "failed a check" not in table


def test_every_plot_is_an_inline_svg_with_title_and_description(sample_page: str) -> None:
    """Each plot is a figure with an inline SVG labelled by its title and a description for screen readers."""
    verdict = sample_verdict()
    plots = _section(sample_page, "plots")
    keys = re.findall(r'<figure id="plot-([^"]+)" class="plot" data-kind="(\w+)">', plots)
    assert keys == [(p.key, p.kind) for s in verdict.sections for p in s.plots]
    assert plots.count("<svg") == len(keys) and "<?xml" not in plots and "DOCTYPE" not in plots
    assert re.search(r'<svg [^>]*role="img" aria-labelledby="drops-timeline-title drops-timeline-desc">'
                     r'<title id="drops-timeline-title">Drops on a timeline</title><desc id="drops-timeline-desc">'
                     r"events plot of device against time \(s\): rs-right \(3 values\); kinect-sub2 \(1 values\); "
                     r"zed \(0 values\)\.</desc>", plots)


def test_rig_summary_and_every_method_are_in_the_page(sample_page: str) -> None:
    """The rig summary lines, and each check's and plot's method (shared methods once, naming their subjects)."""
    verdict, page = sample_verdict(), sample_page
    assert all(escape(line) in _section(page, "rig") for line in verdict.rig_summary)
    methods = _section(page, "methods")
    for s in verdict.sections:
        for item in (*s.checks, *s.plots):
            assert escape(item.method) in methods, item.title
    assert "Inter-camera skew p99 <small>(group kinects, group realsense)</small>" in methods
    assert methods.count('id="method-skew"') == 1


def test_pngs_one_per_plot_named_by_key(tmp_path: Path) -> None:
    """write_pngs writes <key>.png for every plot, in order, 1000 x 450, the same bytes each time."""
    verdict = sample_verdict()
    paths = write_pngs(verdict, tmp_path / "pngs")
    assert [p.name for p in paths] == [f"{p.key}.png" for s in verdict.sections for p in s.plots]
    for path in paths:
        image = cv2.imread(str(path))
        assert image is not None and image.shape[:2] == (450, 1000), path
    again = write_pngs(verdict, tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


@pytest.mark.parametrize(("key", "problem"), [("../up", "not a file name"), ("a b", "not a file name"),
                                              ("", "not a file name"), ("twice", "two plots of one verdict")])
def test_bad_plot_keys_are_refused_naming_the_key(tmp_path: Path, key: str, problem: str) -> None:
    """A plot key that is not a safe file name, or used twice, is refused before anything is written."""
    plot = Plot(key, "t", "line", "x", "y", (Series("s", (0.0,), (1.0,)),), "m")
    twin = replace(plot, key="twice")
    verdict = Verdict("r.mcap", "r", 1.0, (Section("stamps", (), (plot, twin)),))
    with pytest.raises(ValueError, match=re.escape(f"Plot.key = {key!r}") + ".*" + problem):
        write_pngs(verdict, tmp_path / "pngs")
    assert not (tmp_path / "pngs").exists()


def test_unwritable_paths_name_the_file(tmp_path: Path) -> None:
    """A report into a missing folder, or PNGs under a file, is a RigsyncError naming the path, not a traceback."""
    target = tmp_path / "missing" / "report.html"
    with pytest.raises(RigsyncError, match=re.escape(f"{target}: cannot write the report (No such file")):
        write_report(passing_verdict(), target)
    (tmp_path / "file").write_text("")
    with pytest.raises(RigsyncError, match=re.escape(f"{tmp_path / 'file' / 'pngs'}/skew-histogram-kinects.png: "
                                                     "cannot write the plot")):
        write_pngs(passing_verdict(), tmp_path / "file" / "pngs")
