"""A recorded host's USB bus built from a fixture (tests/hostcheck/fixtures/usb/*.json): what sysfs shows of it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rigsync.hostcheck.probe import RecordedProbe
from rigsync.hostcheck.usbsysfs import SYSFS

from .conftest import FIXTURES, MakeHost

ATTRS = ("idVendor", "idProduct", "serial", "speed", "product")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "usb" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def sysfs(tree: Mapping[str, Any], change: Mapping[str, Mapping[str, str | None]] | None = None,
          ) -> tuple[dict[str, str], dict[str, str]]:
    """(files, links) of ``/sys/bus/usb/devices`` for ``tree``; ``change`` sets attributes of a device by name
    (``{"2-1.2": {"speed": "480"}}``), a None attribute removes it, ``{"2-1.2": {"gone": ""}}`` unplugs it and the
    devices behind it, ``{"4-1": {"to": "2-2"}}`` moves it (and those behind it) to another port."""
    change = change or {}
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    for bus, path in tree["controllers"].items():
        files[f"{SYSFS}/usb{bus}/busnum"] = f"{bus}\n"
        links[f"{SYSFS}/usb{bus}"] = path
    for dev in tree["devices"]:
        name = dev["name"]
        top = next((c for c in change if name == c or name.startswith(c + ".")), None)
        edit = dict(change.get(top, {})) if top else {}
        if "gone" in edit:
            continue
        if "to" in edit:
            name = str(edit.pop("to")) + name[len(str(top)):]
        if top != dev["name"]:
            edit = {}
        attrs = {**{a: dev.get(a) for a in ATTRS}, **edit}
        bus, ports = name.split("-", 1)
        chain = ports.split(".")
        path = tree["controllers"][bus] + "".join(f"/{bus}-{'.'.join(chain[:i + 1])}" for i in range(len(chain)))
        links[f"{SYSFS}/{name}"] = path
        files[f"{SYSFS}/{name}/busnum"] = f"{bus}\n"
        for attr, value in attrs.items():
            if value is not None:
                files[f"{SYSFS}/{name}/{attr}"] = f"{value}\n"
    return files, links


def usb_host(make_host: MakeHost, name: str, change: Mapping[str, Mapping[str, str | None]] | None = None,
             files: Mapping[str, str] | None = None, **kw: Any) -> RecordedProbe:
    bus_files, links = sysfs(load(name), change)
    return make_host(files={**bus_files, **(files or {})}, links=links, **kw)


__all__ = ["load", "sysfs", "usb_host"]
