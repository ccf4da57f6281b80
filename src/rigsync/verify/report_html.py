"""The verification report as one self-contained HTML page: the verdict, the plots, the rig, how each was computed.

Nothing in the page refers outside it (styles inline, plots as inline SVG), so it opens offline, prints, and can
be handed to someone else as one file. The page holds no date or time unless one is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from rigsync.verify.report_plots import svg_markup
from rigsync.verify.result import Check, Plot, Section, Status, Verdict

__all__ = ["render_html"]

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1a1a1a;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
.overall { font-size: 1.3em; font-weight: bold; padding: 0.4em 0.7em; border-radius: 4px; display: inline-block; }
.overall.pass { background: #e3f4e6; color: #14532d; } .overall.fail { background: #fbe4e4; color: #7f1d1d; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border: 1px solid #d0d0d0; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tbody th { background: #fafafa; font-weight: 600; }
.nowrap { white-space: nowrap; }
.status { font-weight: bold; text-transform: uppercase; white-space: nowrap; }
.status.pass { color: #166534; } .status.warn { color: #92400e; } .status.fail { color: #b91c1c; }
.status.skip { color: #555; }
tr.fail td { background: #fdf2f2; } tr.warn td { background: #fffbeb; }
figure { margin: 1.2em 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { width: 100%; height: auto; } figcaption { font-size: 0.9em; color: #444; }
pre { background: #f7f7f7; padding: 0.7em; overflow-x: auto; font-size: 0.88em; }
dt { font-weight: 600; margin-top: 0.6em; } dd { margin-left: 1.2em; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dl.facts dt { margin: 0; font-weight: normal; color: #444; } dl.facts dd { margin: 0; }
a { color: #1d4ed8; }
@media print { body { max-width: none; margin: 0; font-size: 11pt; } a { color: inherit; text-decoration: none; }
               h2 { page-break-after: avoid; break-after: avoid; } tr { break-inside: avoid; } }
"""


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    shown = f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{shown} {unit}".strip()


def _anchor(*parts: str) -> str:
    """An id from free text (check ids, plot keys): letters, digits and dashes."""
    return "-".join("".join(c if c.isalnum() else "-" for c in p.lower()) for p in parts)


def _nowrap(text: str) -> str:
    return f'<span class="nowrap">{escape(text)}</span>'


def _check_row(c: Check) -> str:
    method = _anchor("method", c.id)
    return (f'<tr class="{c.status.value}"><td class="status {c.status.value}">{c.status.value}</td>'
            f'<td><a href="#{method}">{escape(c.title)}</a></td><td>{_nowrap(c.subject)}</td>'
            f'<td class="num">{escape(_figure(c.value, c.unit))}</td><td class="num">{escape(_figure(c.limit, c.unit))}'
            f'</td><td>{escape(c.detail)}</td><td>{", ".join(_nowrap(d) for d in c.devices)}</td></tr>')


_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.PASS: 2, Status.SKIP: 3}


def _failures_first(checks: Iterable[Check]) -> list[Check]:
    """Failures, then warnings, passes and skips; each in the order its method gave them."""
    return sorted(checks, key=lambda c: _ORDER[c.status])


def _verdict(v: Verdict) -> str:
    checks = v.checks
    counts = {s: sum(c.status is s for c in checks) for s in Status}
    word = "PASS" if v.passed else "FAIL"
    warnings = f"{counts[Status.WARN]} warning" + ("" if counts[Status.WARN] == 1 else "s")
    summary = (f"{len(checks)} checks: {counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, {warnings}, "
               f"{counts[Status.SKIP]} skipped")
    failed = sorted({d for c in checks if c.status is Status.FAIL for d in c.devices})
    offending = f"<p>Devices that failed a check: {escape(', '.join(failed))}</p>" if failed else ""
    head = ('<thead><tr><th scope="col">status</th><th scope="col">check</th><th scope="col">subject</th>'
            '<th scope="col">figure</th><th scope="col">limit</th><th scope="col">detail</th>'
            '<th scope="col">devices</th></tr></thead>')
    bodies = "".join(f'<tbody><tr><th colspan="7" scope="rowgroup">{escape(s.name)}</th></tr>'
                     + "".join(_check_row(c) for c in _failures_first(s.checks)) + "</tbody>"
                     for s in v.sections if s.checks)
    facts = "".join(f"<h3>Found by {escape(s.name)}</h3><dl class=\"facts\">"
                    + "".join(f"<dt>{escape(k)}</dt><dd>{escape(val)}</dd>" for k, val in s.facts) + "</dl>"
                    for s in v.sections if s.facts)
    return (f'<section id="verdict" aria-labelledby="verdict-h"><h2 id="verdict-h">Verdict</h2>'
            f'<p class="overall {word.lower()}" role="status">{word}</p><p>{escape(summary)}</p>{offending}'
            f'<table id="checks"><caption>Every check of each method, failures first</caption>{head}{bodies}'
            f"</table>{facts}</section>")


def _describe(p: Plot) -> str:
    """A sentence for screen readers: what is plotted, and how much of it."""
    parts = [f"{s.label or 'series'} ({max(len(s.x), len(s.y))} values)" for s in p.series]
    return f"{p.kind} plot of {p.y_label} against {p.x_label}: {'; '.join(parts) or 'no data'}."


def _plot(p: Plot, duration_s: float) -> str:
    svg = svg_markup(p, duration_s=duration_s)
    title_id, desc_id = _anchor(p.key, "title"), _anchor(p.key, "desc")
    end = svg.index(">")
    svg = (f'{svg[:end]} role="img" aria-labelledby="{title_id} {desc_id}"><title id="{title_id}">'
           f'{escape(p.title)}</title><desc id="{desc_id}">{escape(_describe(p))}</desc>{svg[end + 1:]}')
    return (f'<figure id="{_anchor("plot", p.key)}" class="plot" data-kind="{p.kind}">{svg}'
            f'<figcaption>{escape(p.title)} (<a href="#{_anchor("method", "plot", p.key)}">how it was computed</a>)'
            "</figcaption></figure>")


def _plots(v: Verdict) -> str:
    body = "".join(f"<h3>{escape(s.name)}</h3>" + "".join(_plot(p, v.duration_s) for p in s.plots)
                   for s in v.sections if s.plots)
    return (f'<section id="plots" aria-labelledby="plots-h"><h2 id="plots-h">Plots</h2>{body or "<p>No plots.</p>"}'
            "</section>")


def _rig(v: Verdict) -> str:
    lines = "\n".join(v.rig_summary) or "(no rig summary in this verdict)"
    return (f'<section id="rig" aria-labelledby="rig-h"><h2 id="rig-h">Rig and plan</h2><pre>{escape(lines)}</pre>'
            "</section>")


def _grouped(items: Iterable[tuple[str, str, str, str]]) -> str:
    """Definition-list entries, one per (anchor, title, method), naming every subject that shares it."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for anchor, title, method, subject in items:
        seen.setdefault((anchor, title, method), []).append(subject)
    out, used = [], set()
    for (anchor, title, method), subjects in seen.items():
        attr = f' id="{anchor}"' if anchor not in used else ""
        used.add(anchor)
        out.append(f"<dt{attr}>{escape(title)} <small>({escape(', '.join(subjects))})</small></dt>"
                   f"<dd>{escape(method)}</dd>")
    return "".join(out)


def _methods(v: Verdict) -> str:
    def section(s: Section) -> str:
        checks = _grouped((_anchor("method", c.id), c.title, c.method, c.subject) for c in s.checks)
        plots = _grouped((_anchor("method", "plot", p.key), p.title, p.method, p.key) for p in s.plots)
        return f"<h3>{escape(s.name)}</h3><dl>{checks}{plots}</dl>"

    return (f'<section id="methods" aria-labelledby="methods-h"><h2 id="methods-h">How each figure was computed</h2>'
            f'{"".join(section(s) for s in v.sections)}</section>')


def render_html(verdict: Verdict, *, generated: str | None = None) -> str:
    """The whole page. ``generated`` (e.g. a date) is shown under the title only when given."""
    word = "PASS" if verdict.passed else "FAIL"
    when = f"<br>Generated {escape(generated)}" if generated else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>rigsync verify: {escape(verdict.rig_name)}: {word}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>Sync verification of rig {escape(verdict.rig_name)}</h1>"
            f"<p>Recording {escape(verdict.recording)}, {verdict.duration_s:.1f} s{when}</p></header>"
            f"<main>{_verdict(verdict)}{_plots(verdict)}{_rig(verdict)}{_methods(verdict)}</main></body></html>\n")
