"""A finding's JSON (what an agent replies to the check query) read back: the same finding, or an error naming the
field and the value."""

from __future__ import annotations

from typing import Any

import pytest

from rigsync.hostcheck.finding import Finding, Status

FINDINGS = [
    Finding("b", "usbfs-memory", Status.FAIL, "8 MB (/sys/...)", ">= 16 MB", "sudo sh -c 'echo 32 > ...'",
            anchor="#usbfs-memory"),
    Finding("b", "nic-mtu", Status.PASS, "9000 (ip link)", ">= 9000", subject="eth1", anchor="#gige-nics"),
    Finding("gm", "disk-space", Status.SKIP, "no take planned", "-"),
    Finding("kin-2", "ptp-ntp", Status.WARN, "chronyd active", "off on a slave", "sudo systemctl disable --now "
            "chrony"),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.item for f in FINDINGS])
def test_a_finding_round_trips_through_its_json(finding: Finding) -> None:
    assert Finding.from_json(finding.to_json()) == finding


def _bad(**change: Any) -> dict[str, Any]:
    data = FINDINGS[0].to_json()
    data.update(change)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.mark.parametrize(("data", "message"), [
    (["not", "an", "object"], "a finding must be a JSON object, not list"),
    (_bad(status="broken"), "finding field 'status' = 'broken': not one of pass, warn, fail, skip"),
    (_bad(seen=3), "finding field 'seen' = 3: must be a string"),
    (_bad(item=...), "finding field 'item' = None: must be a string"),
    (_bad(doc="https://example.org"), "finding field 'doc' = 'https://example.org': must be docs/hosts.md or a "
                                      "section of it"),
    (_bad(fix=""), "b usbfs-memory: a fail finding needs a fix"),
])
def test_a_malformed_finding_is_refused_naming_the_field(data: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        Finding.from_json(data)
    assert str(err.value).startswith(message)
