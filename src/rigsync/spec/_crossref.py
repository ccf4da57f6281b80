"""The rig file's cross-references, checked once its tables are read: devices on declared hosts and buses, sync
group members that exist (in one group each, in roles their models take), sources, cards and PTP hosts that exist,
unique names and serials; and which devices take a trigger and which hosts run PTP (what a fault may name)."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.core.errors import RigFileError
from rigsync.core.sync import LinkKind, SyncMethod, Topology
from rigsync.spec._table import Table
from rigsync.spec.model import DeviceSpec, HostSpec
from rigsync.spec.sync import SyncGroupSpec, TriggerSpec


def triggered(groups: tuple[SyncGroupSpec, ...]) -> set[str]:
    """Devices with a sync input in use: the members of hardware and Genlock groups but a group's source device."""
    return {m.device for g in groups if g.method in (SyncMethod.HARDWARE, SyncMethod.GENLOCK)
            for m in g.members if g.source is None or g.source.device != m.device}


def ptp_host_names(groups: tuple[SyncGroupSpec, ...], devices: tuple[DeviceSpec, ...]) -> set[str]:
    names: set[str] = set()
    for g in groups:
        if g.method is SyncMethod.PTP:
            names |= {d.host for d in devices if g.member(d.id) is not None}
            if g.ptp is not None:
                names |= set(g.ptp.hosts)
                if g.ptp.grandmaster != "external":
                    names.add(g.ptp.grandmaster)
    return names


def check_device(t: Table, device: DeviceSpec, hosts: tuple[HostSpec, ...]) -> None:
    host = next((h for h in hosts if h.name == device.host), None)
    if host is None:
        raise RigFileError(t.file, t.field("host"), device.host, "not a declared host", [h.name for h in hosts],
                           rule="HOST-DECLARED")
    conn = device.connection
    if conn.kind is LinkKind.GMSL:
        card = host.capture_card(conn.bus)
        if card is None:
            raise t.error("connection", str(conn), f"host {host.name} declares no capture card {conn.bus}",
                          [c.name for c in host.capture_cards] or "declare it under [[hosts.capture_cards]]")
        if conn.port is None or not 0 <= conn.port < card.capacity:
            raise t.error("connection", str(conn), f"{card.model} has ports 0 to {card.capacity - 1}")
    if conn.kind is LinkKind.ETHERNET and host.nics and host.nic(conn.bus) is None:
        raise t.error("connection", str(conn), f"host {host.name} has no interface {conn.bus}",
                      [n.name for n in host.nics])


def check_groups(tables: list[Table], groups: tuple[SyncGroupSpec, ...], devices: tuple[DeviceSpec, ...],
                  hosts: tuple[HostSpec, ...], triggers: tuple[TriggerSpec, ...]) -> None:
    ids = [d.id for d in devices]
    owner: dict[str, str] = {}
    for t, group in zip(tables, groups, strict=True):
        for i, member in enumerate(group.members):
            where = f"members[{i}]"
            if member.device not in ids:
                raise RigFileError(t.file, f"{t.field(where)}.device", member.device, "no such device", ids)
            roles = get_model(next(d for d in devices if d.id == member.device).model).sync.roles
            if member.role is not None and member.role not in roles:
                raise RigFileError(t.file, f"{t.field(where)}.role", member.role,
                                   f"not a role of {next(d for d in devices if d.id == member.device).model}",
                                   roles or "this model takes no sync role")
            if member.device in owner:
                raise RigFileError(t.file, f"{t.field(where)}.device", member.device,
                                   f"already in sync group {owner[member.device]}; a device is in one group")
            owner[member.device] = group.name
        src = group.source
        if src is not None and src.trigger is not None and src.trigger not in [x.name for x in triggers]:
            raise RigFileError(t.file, t.field("source.trigger"), src.trigger, "no such [[triggers]] entry",
                               [x.name for x in triggers] or "declare one under [[triggers]]")
        if group.topology is Topology.CAPTURE_CARD:
            for i, member in enumerate(group.members):
                dev = next(d for d in devices if d.id == member.device)
                if dev.connection.kind is not LinkKind.GMSL:
                    raise RigFileError(t.file, f"{t.field(f'members[{i}]')}.device", member.device,
                                       "a capture-card group holds GMSL2 cameras only",
                                       f"{dev.model} connects over {dev.connection.kind.value}")
            if src is not None and src.card is not None:
                cards = {d.connection.bus for d in devices if d.id in [m.device for m in group.members]}
                if src.card not in cards:
                    raise RigFileError(t.file, t.field("source.card"), src.card,
                                       "not a capture card of the group's cameras", sorted(cards))
        elif src is not None and src.card is not None:
            raise RigFileError(t.file, t.field("source.card"), src.card,
                               "only capture-card groups take a card as source")
        if group.ptp is not None and group.ptp.grandmaster != "external" and \
                group.ptp.grandmaster not in [h.name for h in hosts]:
            raise RigFileError(t.file, t.field("ptp.grandmaster"), group.ptp.grandmaster, "no such host",
                               [*(h.name for h in hosts), "external"])
        for i, extra in enumerate(group.ptp.hosts if group.ptp is not None else ()):
            if extra not in [h.name for h in hosts]:
                raise RigFileError(t.file, t.field(f"ptp.hosts[{i}]"), extra, "no such host", [h.name for h in hosts])


def unique(top: Table, table: str, names: list[str], key: str) -> None:
    for i, n in enumerate(names):
        if n in names[:i]:
            raise RigFileError(top.file, f"{table}[{i}].{key}", n, f"{key} used twice",
                               f"unique {key}s (first at {table}[{names.index(n)}])",
                               rule="ID-UNIQUE" if table == "devices" else None)


def unique_serials(top: Table, devices: tuple[DeviceSpec, ...]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, d in enumerate(devices):
        key = (d.driver, d.serial)
        if key in seen:
            raise RigFileError(top.file, f"devices[{i}].serial", d.serial,
                               f"serial already used by devices[{seen[key]}] ({devices[seen[key]].id}); "
                               "devices are opened by serial", "unique serials", rule="SERIAL-UNIQUE")
        seen[key] = i
