"""Every finding links to a section of docs/hosts.md ("Prepare the hosts") that exists, and every item the checks
report is named there."""

from __future__ import annotations

import re
from pathlib import Path

from rigsync.hostcheck.finding import DOC

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src/rigsync/hostcheck").glob("*.py"))


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub makes of a document's headings: lower case, spaces to hyphens, punctuation dropped."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            out.add("#" + re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-"))
    return out


def test_every_anchor_a_check_links_to_is_a_heading_of_the_doc() -> None:
    doc = (ROOT / DOC).read_text(encoding="utf-8")
    anchors = {a for p in SOURCES for a in re.findall(r'"(#[a-z0-9-]+)"', p.read_text(encoding="utf-8"))}
    assert len(anchors) == 15, sorted(anchors)  # one per section of items
    assert anchors - slugs(doc) == set()


def test_every_item_a_check_reports_is_named_in_the_doc() -> None:
    doc = (ROOT / DOC).read_text(encoding="utf-8")
    found = (re.findall(r'(?:finding\(|ITEM = )"([a-z0-9-]+)"', p.read_text(encoding="utf-8")) for p in SOURCES)
    items = {i for each in found for i in each}
    assert {"usbfs-memory", "usb-link", "ptp4l", "nic-mtu", "gmsl2-driver", "gpu-memory", "disk-write"} <= items
    assert sorted(i for i in items if f"`{i}`" not in doc and f"### {i}" not in doc) == []
