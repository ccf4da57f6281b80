"""The PTP items of a host against the plan, on recorded hosts built from real outputs (fixtures/ptp/README.md):
the interface, its timestamping (ethtool -T), ptp4l and phc2sys as rigsync ptp run starts them, NTP only on the
grandmaster (seeds/000), and the offset against the group's levels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import RecordedProbe
from rigsync.hostcheck.ptp_ntp import UNITS
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.plan.emit.ptp import conf
from rigsync.plan.model import Plan
from rigsync.spec import load_rig

from .conftest import EXAMPLES, FIXTURES, MakeHost

PTP = FIXTURES / "ptp"
SYSTEMCTL = "systemctl is-active " + " ".join(UNITS)


def fixture(name: str) -> str:
    return (PTP / name).read_text()


def rig(tmp_path: Path, *, kin_stamping: str = "hardware", observe: bool = False) -> Plan:
    """examples/three_hosts_ptp.toml (gm grandmaster, kin and vis slaves, hardware timestamping on eth0), with
    kin's timestamping and the group's mode changed."""
    text = (EXAMPLES / "three_hosts_ptp.toml").read_text()
    text = text.replace('name = "kin"\nusb_controllers = [{ name = "u0" }, { name = "u1" }]\n'
                        'nics = [{ name = "eth0", timestamping = "hardware" }]',
                        'name = "kin"\nusb_controllers = [{ name = "u0" }, { name = "u1" }]\n'
                        f'nics = [{{ name = "eth0", timestamping = "{kin_stamping}" }}]')
    if observe:
        text = text.replace('grandmaster = "gm"\n', 'grandmaster = "gm"\nmode = "observe"\n')
    path = tmp_path / f"rig-{kin_stamping}-{observe}.toml"
    path.write_text(text)
    return build_plan(load_rig(path))


UDS = "/run/rigsync/ptp4l-{host}.sock"
CONF = "/run/rigsync/ptp4l-{host}.conf"


def rigsync_conf(plan: Plan, host: str) -> str:
    """ptp4l's configuration as rigsync ptp run writes it (rigsync.ptp.supervisor: the plan's + its socket)."""
    setup = next(h for h in plan.hosts if h.host == host)
    return conf(plan, setup) + f"uds_address             {UDS.format(host=host)}\n"


def ptp4l_argv(host: str, *extra: str) -> list[str]:
    return ["/usr/sbin/ptp4l", "-i", "eth0", "-f", CONF.format(host=host), *extra, "-m"]


def phc2sys_argv(host: str, source: str, sink: str, *offset: str) -> list[str]:
    return ["/usr/sbin/phc2sys", "-s", source, "-c", sink, *offset, "-S", "0.001", "-w", "-z", UDS.format(host=host),
            "-m"]


def host(make_host: MakeHost, plan: Plan, name: str, *, ethtool: str | None = "ethtool_T_i226_igc.txt",
         operstate: str = "up", flags: str = "0x1003", wireless: bool = False,
         procs: dict[int, list[str]] | None = None,
         conf_text: str | None = "rigsync", systemctl: tuple[int, str] | None = (3, "inactive\n" * len(UNITS)),
         pmc: str | None = None, state: dict[str, object] | None = None, files: dict[str, str] | None = None,
         commands: dict[str, object] | None = None, links: dict[str, str] | None = None) -> RecordedProbe:
    """A recorded host: eth0 with ``ethtool`` (a fixture), the processes ``procs`` (pid -> argv), rigsync ptp run's
    configuration, the NTP units' states, pmc's answer, the state file."""
    fs = {"/sys/class/net/lo/operstate": "unknown\n", "/sys/class/net/eth0/operstate": operstate + "\n",
          "/sys/class/net/eth0/flags": flags + "\n", "/proc/1/cmdline": "/sbin/init\0splash\0"}
    if wireless:
        fs["/sys/class/net/eth0/phy80211/name"] = "phy0\n"
    for pid, argv in (procs or {}).items():
        fs[f"/proc/{pid}/cmdline"] = "\0".join(argv) + "\0"
    if conf_text is not None:
        fs[CONF.format(host=name)] = rigsync_conf(plan, name) if conf_text == "rigsync" else conf_text
    if state is not None:
        fs[f"/run/rigsync/ptp-{name}.json"] = json.dumps(state)
    cmds: dict[str, object] = {}
    if ethtool is not None:
        cmds["ethtool -T eth0"] = fixture(ethtool)
    if systemctl is not None:
        cmds[SYSTEMCTL] = systemctl
    if pmc is not None:
        cmds[f"pmc -u -b 0 -s {UDS.format(host=name)} -d 0 GET CURRENT_DATA_SET GET PORT_DATA_SET "
             "GET TIME_STATUS_NP"] = pmc
    return make_host(files={**fs, **(files or {})}, commands={**cmds, **(commands or {})}, links=links)


def item(plan: Plan, name: str, probe: RecordedProbe, what: str) -> Finding | None:
    found = [f for f in check_host(plan, name, probe) if f.item == what]
    assert len(found) <= 1, found
    return found[0] if found else None


def one(plan: Plan, name: str, probe: RecordedProbe, what: str) -> Finding:
    f = item(plan, name, probe, what)
    assert f is not None, f"no {what} finding"
    return f


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return rig(tmp_path)


# --- ptp-interface --------------------------------------------------------------------------------------------

def test_interface_up_passes_and_a_host_without_ptp_has_no_ptp_items(make_host: MakeHost, plan: Plan) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin"), "ptp-interface")
    assert f.status is Status.PASS and f.seen == "eth0 operstate up" and f.subject == "eth0"
    star = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))
    items = {f.item for f in check_host(star, "capture-1", make_host())}
    assert not items & {"ptp-interface", "ptp-timestamping", "ptp4l", "phc2sys", "ntp", "ptp-offset"}


def test_missing_interface_fails_naming_the_hosts_interfaces(make_host: MakeHost, plan: Plan) -> None:
    probe = make_host(files={"/sys/class/net/enp3s0/operstate": "up\n", "/sys/class/net/lo/operstate": "up\n"})
    f = one(plan, "kin", probe, "ptp-interface")
    assert f.status is Status.FAIL and f.seen == "no /sys/class/net/eth0 (interfaces here: enp3s0)"
    assert f.fix == (f"plug in / enable the NIC, or name the one PTP runs on in {plan.rig.path}: [[hosts]] name = "
                     '"kin", nics = [{ name = "<enp3s0>", timestamping = "hardware" }]')
    assert one(plan, "kin", probe, "ptp-timestamping").status is Status.SKIP


@pytest.mark.parametrize(("operstate", "flags", "seen", "fix"), [
    ("down", "0x1002", "eth0 operstate down, administratively down",
     "sudo ip link set eth0 up (and enable it in the host's network configuration to keep it up)"),
    ("down", "0x1003", "eth0 operstate down, administratively up: no link (carrier)",
     "connect eth0's cable to the PTP switch and check the port's link LED; then ip link show eth0 must say state UP"),
    ("lowerlayerdown", "0x1003", "eth0 operstate lowerlayerdown, administratively up: no link (carrier)",
     "connect eth0's cable to the PTP switch and check the port's link LED; then ip link show eth0 must say state UP"),
])
def test_interface_not_up_fails_with_the_fix_for_why(make_host: MakeHost, plan: Plan, operstate: str, flags: str,
                                                     seen: str, fix: str) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin", operstate=operstate, flags=flags), "ptp-interface")
    assert (f.status, f.seen, f.fix) == (Status.FAIL, seen, fix)


# --- ptp-timestamping -------------------------------------------------------------------------------------------

SOFTWARE_FIX = ('plan software timestamping: set timestamping = "software" in {path}, host kin\'s nic eth0 (ptp4l -S, '
                "no phc2sys; microseconds instead of tens of nanoseconds), or use a NIC with a PTP hardware clock "
                '(ethtool -T shows "PTP Hardware Clock: <n>")')
HARDWARE_FIX = ('plan hardware timestamping: set timestamping = "hardware" in {path}, host kin\'s nic eth0 (ptp4l '
                "hardware mode + phc2sys -O 0)")


@pytest.mark.parametrize(("planned", "nic", "status", "seen", "fix"), [
    ("hardware", "ethtool_T_i226_igc.txt", Status.PASS, "hardware, PTP clock /dev/ptp0", ""),
    ("hardware", "ethtool_T_enp1s0_phc0.txt", Status.PASS, "hardware, PTP clock /dev/ptp0", ""),
    ("hardware", "ethtool_T_rpi_cm4_eth0.txt", Status.PASS, "hardware, PTP clock /dev/ptp0", ""),
    ("hardware", "ethtool_T_ens3_hetzner_vm.txt", Status.FAIL, "software, no PTP hardware clock", SOFTWARE_FIX),
    ("hardware", "ethtool_T_aqc107_ens4.txt", Status.FAIL, "software, no PTP hardware clock", SOFTWARE_FIX),
    ("hardware", "ethtool_T_this_machine_eth0.txt", Status.FAIL, "software, no PTP hardware clock", SOFTWARE_FIX),
    ("software", "ethtool_T_ens3_hetzner_vm.txt", Status.PASS, "software, no PTP hardware clock", ""),
    ("software", "ethtool_T_i226_igc.txt", Status.PASS, "hardware, PTP clock /dev/ptp0", ""),
    ("software", "ethtool_T_rpi_cm4_eth0.txt", Status.FAIL, "hardware, PTP clock /dev/ptp0", HARDWARE_FIX),
])
def test_timestamping_against_the_plan(make_host: MakeHost, tmp_path: Path, planned: str, nic: str, status: Status,
                                       seen: str, fix: str) -> None:
    plan = rig(tmp_path, kin_stamping=planned)
    f = one(plan, "kin", host(make_host, plan, "kin", ethtool=nic), "ptp-timestamping")
    assert f.status is status and f.seen == f"ethtool -T eth0: {seen}"
    assert f.fix == fix.format(path=plan.rig.path)
    assert f.wanted.startswith(f"{planned} timestamping")


def test_wifi_fails_whatever_the_plan(make_host: MakeHost, tmp_path: Path) -> None:
    """seeds/000: a Wi-Fi adapter lacks SOF_TIMESTAMPING_TX_SOFTWARE; software timestamping planned or not."""
    plan = rig(tmp_path, kin_stamping="software")
    f = one(plan, "kin", host(make_host, plan, "kin", ethtool="ethtool_T_iwlwifi_wlp2s0.txt", wireless=True),
            "ptp-timestamping")
    assert f.status is Status.FAIL and f.seen == "ethtool -T eth0: none, no PTP hardware clock (Wi-Fi)"
    assert f.fix.startswith("Wi-Fi: cannot be used for PTP") and "SOF_TIMESTAMPING_TX_SOFTWARE missing" in f.fix
    assert f.fix.endswith(f"Name a wired interface with PTP timestamping in {plan.rig.path} (ethtool -T <if>).")


def test_no_ethtool_warns_with_the_install_command(make_host: MakeHost, plan: Plan) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin", ethtool=None), "ptp-timestamping")
    assert (f.status, f.seen, f.fix) == (Status.WARN, "ethtool is not installed", "sudo apt-get install ethtool")


# --- ptp4l ------------------------------------------------------------------------------------------------------

def test_ptp4l_as_rigsync_ptp_run_starts_it_passes(make_host: MakeHost, plan: Plan) -> None:
    state = {"host": "kin", "stopped": False, "supervisor_pid": 900, "daemons": {"ptp4l": {"pid": 4242}}}
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin"), 900: ["python3", "rigsync"]}, state=state)
    f = one(plan, "kin", probe, "ptp4l")
    assert f.status is Status.PASS and f.fix == ""
    assert f.seen == (f"ptp4l pid 4242 (rigsync ptp run): /usr/sbin/ptp4l -i eth0 -f {CONF.format(host='kin')} -m "
                      f"(options from its command line and {CONF.format(host='kin')})")
    assert f.wanted == ("one ptp4l -i eth0: hardware timestamping, free_running 0 (discipline), domainNumber 0, "
                        "slaveOnly 1")


def test_no_ptp4l_fails_with_the_run_command(make_host: MakeHost, plan: Plan) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin"), "ptp4l")
    assert (f.status, f.seen) == (Status.FAIL, "no ptp4l running on eth0")
    assert f.fix == f"sudo rigsync ptp run {plan.rig.path} --host kin"
    assert one(plan, "kin", host(make_host, plan, "kin"), "ptp-offset").status is Status.SKIP


@pytest.mark.parametrize(("extra", "problem"), [
    (["-S"], "time_stamping software, planned hardware (no -S)"),
    (["--free_running", "1"], "free_running 1: discipline mode needs ptp4l to steer the clock (free_running 0)"),
    (["--domainNumber=3"], "domainNumber 3, planned 0"),
    (["--slaveOnly", "0"], "slaveOnly 0: a slave must never become master (slaveOnly 1)"),
])
def test_ptp4l_with_other_options_fails_naming_them(make_host: MakeHost, plan: Plan, extra: list[str],
                                                    problem: str) -> None:
    """Options on the command line override the file's (ptp4l(8)); a hand-started ptp4l is stopped by its pid."""
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin", *extra)})
    f = one(plan, "kin", probe, "ptp4l")
    assert f.status is Status.FAIL and f.seen.endswith("; " + problem)
    assert f.fix == f"sudo kill 4242, then sudo rigsync ptp run {plan.rig.path} --host kin"


def test_ptp4l_started_by_a_live_supervisor_is_stopped_through_it(make_host: MakeHost, tmp_path: Path) -> None:
    """Observe mode wants free_running 1: a configuration without it fails; the fix stops the rigsync ptp run that
    would restart it."""
    plan = rig(tmp_path, observe=True)
    state = {"host": "kin", "stopped": False, "supervisor_pid": 900, "daemons": {"ptp4l": {"pid": 4242}}}
    bad_conf = rigsync_conf(plan, "kin").replace("free_running            1", "free_running            0")
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin", "-S"), 900: ["python3", "rigsync"]},
                 conf_text=bad_conf, state=state)
    f = one(plan, "kin", probe, "ptp4l")
    assert f.status is Status.FAIL
    assert f.seen.endswith("free_running 0: observe mode must never adjust this host's clock (free_running 1)")
    assert f.fix == (f"stop the running rigsync ptp run (sudo kill 900), then sudo rigsync ptp run {plan.rig.path} "
                     "--host kin")
    good = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin", "-S")}, state=state)
    assert one(plan, "kin", good, "ptp4l").status is Status.PASS


def test_ptp4l_runs_what_the_nic_offers_like_rigsync_ptp_run(make_host: MakeHost, plan: Plan) -> None:
    """Hardware planned, software NIC: rigsync ptp run starts ptp4l -S (and no phc2sys); item ptp-timestamping is
    the one that fails."""
    probe = host(make_host, plan, "kin", ethtool="ethtool_T_ens3_hetzner_vm.txt", procs={4242: ptp4l_argv("kin", "-S")})
    assert one(plan, "kin", probe, "ptp4l").status is Status.PASS
    assert item(plan, "kin", probe, "phc2sys") is None
    assert one(plan, "kin", probe, "ptp-timestamping").status is Status.FAIL


def test_a_ptp4l_of_another_network_namespace_is_not_this_hosts(make_host: MakeHost, plan: Plan) -> None:
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")},
                 commands={"readlink /proc/self/ns/net": "net:[4026531833]\n"},
                 links={"/proc/4242/ns/net": "/proc/4242/ns/net:[4026532999]"})
    assert one(plan, "kin", probe, "ptp4l").status is Status.FAIL
    same = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")},
                commands={"readlink /proc/self/ns/net": "net:[4026531833]\n"},
                links={"/proc/4242/ns/net": "/proc/4242/ns/net:[4026531833]"})
    assert one(plan, "kin", same, "ptp4l").status is Status.PASS


def test_unreadable_ptp4l_config_warns(make_host: MakeHost, plan: Plan) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")}, conf_text=None), "ptp4l")
    assert f.status is Status.WARN and "cannot be read here" in f.seen
    assert f.fix == (f"run the check as root (sudo rigsync check {plan.rig.path} --host kin), or restart it as "
                     f"planned: sudo kill 4242, then sudo rigsync ptp run {plan.rig.path} --host kin")


def test_two_ptp4l_on_the_interface_fail(make_host: MakeHost, plan: Plan) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin"), 4243: ptp4l_argv("kin")}),
            "ptp4l")
    assert f.status is Status.FAIL and f.seen.startswith("2 ptp4l on eth0 (pids 4242, 4243)")
    assert f.fix == f"sudo kill 4242 4243, then sudo rigsync ptp run {plan.rig.path} --host kin"


# --- phc2sys ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "source", "sink", "offset", "status", "problem"), [
    ("kin", "eth0", "CLOCK_REALTIME", ["-O", "0"], Status.PASS, ""),
    ("kin", "/dev/ptp0", "CLOCK_REALTIME", ["-O", "0"], Status.PASS, ""),  # seeds/000 names the PHC device
    ("gm", "CLOCK_REALTIME", "eth0", ["-O", "0"], Status.PASS, ""),
    ("kin", "eth0", "CLOCK_REALTIME", [], Status.FAIL,
     "no -O: without -O 0 phc2sys applies the ~37 s TAI-UTC offset (seeds/000)"),
    ("kin", "eth0", "CLOCK_REALTIME", ["-O", "-37"], Status.FAIL,
     "-O -37: without -O 0 phc2sys applies the ~37 s TAI-UTC offset (seeds/000)"),
    ("kin", "CLOCK_REALTIME", "eth0", ["-O", "0"], Status.FAIL,
     "-s CLOCK_REALTIME -c eth0, planned -s /dev/ptp0 or eth0 -c CLOCK_REALTIME"),
])
def test_phc2sys_on_hardware_timestamping(make_host: MakeHost, plan: Plan, name: str, source: str, sink: str,
                                          offset: list[str], status: Status, problem: str) -> None:
    probe = host(make_host, plan, name, procs={4242: ptp4l_argv(name), 4250: phc2sys_argv(name, source, sink, *offset)})
    f = one(plan, name, probe, "phc2sys")
    assert f.status is status
    if status is Status.FAIL:
        assert f.seen.endswith("; " + problem)
        assert f.fix == f"sudo kill 4250, then sudo rigsync ptp run {plan.rig.path} --host {name}"
    else:
        assert f.fix == "" and f.seen.startswith("phc2sys pid 4250: /usr/sbin/phc2sys")


def test_missing_phc2sys_fails_and_a_stray_one_on_observe_fails(make_host: MakeHost, plan: Plan,
                                                                tmp_path: Path) -> None:
    f = one(plan, "kin", host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")}), "phc2sys")
    assert (f.status, f.fix) == (Status.FAIL, f"sudo rigsync ptp run {plan.rig.path} --host kin")
    observe = rig(tmp_path, observe=True)
    assert item(observe, "kin", host(make_host, observe, "kin"), "phc2sys") is None
    stray = host(make_host, observe, "kin", procs={4250: phc2sys_argv("kin", "eth0", "CLOCK_REALTIME", "-O", "0")})
    f = one(observe, "kin", stray, "phc2sys")
    assert (f.status, f.fix) == (Status.FAIL, "sudo kill 4250")
    assert f.wanted == "no phc2sys (observe mode: nothing may steer this host's clock)"


# --- ntp --------------------------------------------------------------------------------------------------------

def states(**active: str) -> str:
    return "".join(active.get(u.replace("-", "_"), "inactive") + "\n" for u in UNITS)


@pytest.mark.parametrize(("name", "systemctl", "procs", "status", "fix"), [
    ("kin", (3, states()), {}, Status.PASS, ""),
    ("kin", (0, states(systemd_timesyncd="active")), {}, Status.FAIL, "sudo timedatectl set-ntp false"),
    ("kin", (0, states(chrony="active", chronyd="active")), {612: ["/usr/sbin/chronyd", "-F", "1"]}, Status.FAIL,
     "sudo systemctl disable --now chrony; sudo systemctl disable --now chronyd"),
    ("kin", (1, ""), {612: ["/usr/sbin/chronyd"]}, Status.FAIL,
     "sudo systemctl disable --now chrony (or sudo kill 612)"),
    ("gm", (0, states(chrony="active")), {}, Status.PASS, ""),
    ("gm", (3, states()), {}, Status.WARN,
     "sudo timedatectl set-ntp true (if this host reaches an NTP server; without it the rig keeps its own time, "
     "consistently)"),
])
def test_ntp_only_on_the_grandmaster(make_host: MakeHost, plan: Plan, name: str, systemctl: tuple[int, str],
                                     procs: dict[int, list[str]], status: Status, fix: str) -> None:
    """systemctl is-active: one state per line (its exit status only says whether any is active); without systemd
    (this machine's answer) the processes tell."""
    probe = host(make_host, plan, name, systemctl=systemctl, procs=procs)
    f = one(plan, name, probe, "ntp")
    assert (f.status, f.fix) == (status, fix)


def test_ntp_left_alone_in_observe_mode(make_host: MakeHost, tmp_path: Path) -> None:
    observe = rig(tmp_path, observe=True)
    f = one(observe, "kin", host(make_host, observe, "kin", systemctl=(0, states(chrony="active"))), "ntp")
    assert f.status is Status.PASS and f.seen.startswith("running: chrony")


# --- ptp-offset -------------------------------------------------------------------------------------------------

def locked(offset_ns: int, port: str = "SLAVE") -> str:
    """pmc's real answer of a slave (fixtures/ptp/pmc_slave_observe.txt) with its offset and port state set."""
    return (fixture("pmc_slave_observe.txt").replace("offsetFromMaster 3394.0", f"offsetFromMaster {offset_ns}.0")
            .replace("UNCALIBRATED", port))


STATUS_CMD = "rigsync ptp status {path} --network eth0"
STEER_FIX = ("give ptp4l a minute to lock after a start, then check again ({cmd}); if it stays: every switch between "
             "here and the grandmaster PTP-aware (seeds/000), no NTP on this host (item ntp)")


@pytest.mark.parametrize(("pmc", "status", "seen"), [
    (locked(40), Status.PASS, "offset 40 ns, port SLAVE"),
    (locked(-1000), Status.PASS, "offset -1000 ns, port SLAVE"),
    (locked(5000), Status.WARN, "offset 5000 ns, port SLAVE"),
    (locked(-10_000), Status.WARN, "offset -10.0 us, port SLAVE"),
    (locked(10_001), Status.FAIL, "offset 10.0 us, port SLAVE"),
    (locked(40, "UNCALIBRATED"), Status.WARN, "offset 40 ns, port UNCALIBRATED"),
])
def test_offset_against_the_groups_levels(make_host: MakeHost, plan: Plan, pmc: str, status: Status,
                                          seen: str) -> None:
    """Levels of examples/three_hosts_ptp.toml: warning 1 us, error 10 us."""
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")}, pmc=pmc)
    f = one(plan, "kin", probe, "ptp-offset")
    assert f.status is status
    assert f.seen.startswith(seen + f" (pmc -u -s {UDS.format(host='kin')})")
    expected_fix = "" if status is Status.PASS else STEER_FIX.format(cmd=STATUS_CMD.format(path=plan.rig.path))
    assert f.fix == expected_fix


def test_offset_in_observe_mode_and_on_the_grandmaster(make_host: MakeHost, plan: Plan, tmp_path: Path) -> None:
    observe = rig(tmp_path, observe=True)
    probe = host(make_host, observe, "kin", procs={4242: ptp4l_argv("kin", "-S")},
                 pmc=fixture("pmc_slave_observe.txt"))
    f = one(observe, "kin", probe, "ptp-offset")
    assert f.status is Status.PASS and f.seen.startswith("offset 3394 ns, port UNCALIBRATED")
    assert f.seen.endswith(": observe mode measures it, rigsync maps it")
    gm = host(make_host, plan, "gm", procs={4242: ptp4l_argv("gm")}, pmc=fixture("pmc_grandmaster_master.txt"))
    f = one(plan, "gm", gm, "ptp-offset")
    assert (f.status, f.seen) == (Status.PASS, f"port MASTER (pmc -u -s {UDS.format(host='gm')})")
    lost = host(make_host, plan, "gm", procs={4242: ptp4l_argv("gm")}, pmc=locked(40))
    assert one(plan, "gm", lost, "ptp-offset").status is Status.WARN


def test_slave_without_grandmaster_fails_saying_start_it_first(make_host: MakeHost, plan: Plan) -> None:
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")}, pmc=fixture("pmc_slave_no_master.txt"))
    f = one(plan, "kin", probe, "ptp-offset")
    assert f.status is Status.FAIL and f.seen.startswith("port LISTENING, no grandmaster heard")
    assert f.fix == (f"start the grandmaster first (on gm: sudo rigsync ptp run {plan.rig.path} --host gm); check the "
                     f"cable and switch between them; {STATUS_CMD.format(path=plan.rig.path)}")


def test_offset_from_the_state_file_without_pmc(make_host: MakeHost, plan: Plan) -> None:
    state = {"host": "kin", "stopped": False, "supervisor_pid": 900, "daemons": {"ptp4l": {"pid": 4242}},
             "last_sample": {"port_state": "SLAVE", "offset_ns": 25_000, "gm_present": True, "gm_identity": "aa"}}
    probe = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")}, state=state)
    f = one(plan, "kin", probe, "ptp-offset")
    assert f.status is Status.FAIL and f.seen == "offset 25.0 us, port SLAVE (/run/rigsync/ptp-kin.json)"
    unanswered = host(make_host, plan, "kin", procs={4242: ptp4l_argv("kin")})
    assert one(plan, "kin", unanswered, "ptp-offset").status is Status.WARN
