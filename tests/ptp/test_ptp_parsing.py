"""ethtool -T and pmc output parsing, and the advice per interface, on the tools' own output formats."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from rigsync.core.ptp import PortState, PtpMode, PtpSample
from rigsync.ptp.ethtool import parse
from rigsync.ptp.pmc import ClockState
from rigsync.ptp.pmc import parse as parse_pmc
from rigsync.ptp.status import StateFileSource
from rigsync.ptp.supervisor import PtpSupervisor, SupervisorConfig

# ethtool 5.x prints capabilities with the kernel's flag names (an Intel i210 with a PTP clock).
I210 = """Time stamping parameters for enp3s0:
Capabilities:
	hardware-transmit     (SOF_TIMESTAMPING_TX_HARDWARE)
	software-transmit     (SOF_TIMESTAMPING_TX_SOFTWARE)
	hardware-receive      (SOF_TIMESTAMPING_RX_HARDWARE)
	software-receive      (SOF_TIMESTAMPING_RX_SOFTWARE)
	software-system-clock (SOF_TIMESTAMPING_SOFTWARE)
	hardware-raw-clock    (SOF_TIMESTAMPING_RAW_HARDWARE)
PTP Hardware Clock: 1
Hardware Transmit Timestamp Modes:
	off                   (HWTSTAMP_TX_OFF)
	on                    (HWTSTAMP_TX_ON)
	onestep-sync          (HWTSTAMP_TX_ONESTEP_SYNC)
Hardware Receive Filter Modes:
	none                  (HWTSTAMP_FILTER_NONE)
	all                   (HWTSTAMP_FILTER_ALL)
"""
# ethtool 6.1 (this machine's, on a veth) prints short names only.
VETH = """Time stamping parameters for rt-a:
Capabilities:
	software-transmit
	software-receive
	software-system-clock
PTP Hardware Clock: none
Hardware Transmit Timestamp Modes: none
Hardware Receive Filter Modes: none
"""
# A Wi-Fi adapter: no hardware, and SOF_TIMESTAMPING_TX_SOFTWARE missing (seeds/000).
WIFI = """Time stamping parameters for wlan0:
Capabilities:
	software-receive      (SOF_TIMESTAMPING_RX_SOFTWARE)
	software-system-clock (SOF_TIMESTAMPING_SOFTWARE)
PTP Hardware Clock: none
Hardware Transmit Timestamp Modes: none
Hardware Receive Filter Modes: none
"""


def test_hardware_nic_with_ptp_clock() -> None:
    """An i210: hardware timestamping with /dev/ptp1, one-step capable; advice: ptp4l hardware + phc2sys -O 0."""
    caps = parse(I210, "enp3s0")
    assert caps.timestamping == "hardware" and caps.phc_index == 1 and caps.one_step
    assert "/dev/ptp1" in caps.advice() and "-O 0" in caps.advice()


def test_veth_has_software_timestamping_only() -> None:
    """ethtool 6 short names: software timestamping, no PTP clock; advice: ptp4l -S."""
    caps = parse(VETH, "rt-a")
    assert caps.timestamping == "software" and caps.phc_index is None and not caps.one_step
    assert "-S" in caps.advice()


def test_wifi_is_called_out_as_unusable() -> None:
    """Wi-Fi: no PTP timestamping, and the advice names the missing TX_SOFTWARE capability."""
    caps = parse(WIFI, "wlan0", wireless=True)
    assert caps.timestamping == "none"
    assert "Wi-Fi" in caps.advice() and "SOF_TIMESTAMPING_TX_SOFTWARE" in caps.advice()
    assert "ptp4l refuses" in parse(WIFI, "eth9").advice()


# pmc -u output captured from linuxptp 3.1.1 (a free_running slave on a veth, software timestamping); pmc ends
# each response header with a space (\x20).
PMC = """sending: GET CURRENT_DATA_SET
	92b8de.fffe.59711f-0 seq 0 RESPONSE MANAGEMENT CURRENT_DATA_SET\x20
		stepsRemoved     1
		offsetFromMaster -2999850.0
		meanPathDelay    2343.0
	92b8de.fffe.59711f-1 seq 1 RESPONSE MANAGEMENT PORT_DATA_SET\x20
		portIdentity            92b8de.fffe.59711f-1
		portState               UNCALIBRATED
		logSyncInterval         -2
	92b8de.fffe.59711f-0 seq 2 RESPONSE MANAGEMENT TIME_STATUS_NP\x20
		master_offset              -2999850
		ingress_time               1795226538374673876
		gmPresent                  true
		gmIdentity                 e6b56b.fffe.234145
"""


def test_pmc_responses_become_one_clock_state() -> None:
    """CURRENT_DATA_SET, PORT_DATA_SET and TIME_STATUS_NP of one clock merge into its state."""
    responses = parse_pmc(PMC)
    assert [r.message for r in responses] == ["CURRENT_DATA_SET", "PORT_DATA_SET", "TIME_STATUS_NP"]
    states = ClockState.of(responses)
    st = states["92b8de.fffe.59711f"]
    assert st.port_state is PortState.UNCALIBRATED and st.offset_ns == -2_999_850
    assert st.mean_path_delay_ns == 2343 and st.gm_present and st.gm_identity == "e6b56b.fffe.234145"
    assert st.ingress_ns == 1_795_226_538_374_673_876 and st.steps_removed == 1


def test_port_state_names_of_newer_linuxptp() -> None:
    """linuxptp 4 renamed SLAVE / MASTER (CLIENT, TIME_RECEIVER / SERVER, TIME_TRANSMITTER): all read."""
    assert PortState.parse("TIME_RECEIVER") is PortState.SLAVE
    assert PortState.parse("client") is PortState.SLAVE
    assert PortState.parse("TIME_TRANSMITTER") is PortState.MASTER


def test_state_file_source_hands_each_published_sample_once(tmp_path: Path) -> None:
    """A capture reads a host's PTP from rigsync ptp run's state file: each new Sync once, nothing once stopped."""
    sample = PtpSample("h1", 1_790_000_000_000_000_000, 5_000_000_000, PortState.SLAVE, 40, 900, "aa.fffe.bb", True,
                       ingress_ns=1_790_000_000_000_000_000)
    path = tmp_path / "ptp-h1.json"
    path.write_text(json.dumps({"host": "h1", "stopped": False, "last_sample": sample.to_json()}))
    source = StateFileSource(path)
    assert source.poll() == [sample] and source.poll() == []
    later = dataclasses.replace(sample, mono_ns=6_000_000_000, ingress_ns=sample.host_ns + 1_000_000_000)
    path.write_text(json.dumps({"host": "h1", "stopped": True, "last_sample": later.to_json()}))
    assert source.poll() == []
    path.write_text(json.dumps({"host": "h1", "stopped": False, "last_sample": later.to_json()}))
    assert source.poll() == [later]


def test_newer_ethtool_names_the_clock_a_provider_index() -> None:
    """ethtool 6.x with netlink prints "Hardware timestamp provider index: 0": still a hardware NIC."""
    caps = parse(I210.replace("PTP Hardware Clock: 1", "Hardware timestamp provider index: 0"), "enp3s0")
    assert caps.timestamping == "hardware" and caps.phc_index == 0


@pytest.mark.skipif(shutil.which("phc2sys") is None, reason="linuxptp is not installed (apt-get install linuxptp)")
def test_supervisor_reads_phc2sys_offsets_of_this_run_only(tmp_path: Path) -> None:
    """phc2sys's log: what an earlier run wrote is skipped; the system clock's offset from the NIC's clock is
    taken from this run's lines (sink minus source: on a slave, system minus PHC)."""
    config = SupervisorConfig(host="h1", interface="eth0", role="slave", mode=PtpMode.DISCIPLINE, hardware=True,
                              ptp4l_conf="[global]\n")
    sup = PtpSupervisor(config, tmp_path)
    log = next(d.log for d in sup.daemons if d.name == "phc2sys")
    assert "-S" in next(d.argv for d in sup.daemons if d.name == "phc2sys")
    tmp_path.mkdir(exist_ok=True)
    log.write_text("phc2sys[10.0]: CLOCK_REALTIME phc offset   99999 s2 freq -4371 delay 603\n")  # an old run
    sup._phc2sys_read = log.stat().st_size  # as __enter__ does
    with log.open("a") as f:
        f.write("phc2sys[20.0]: CLOCK_REALTIME phc offset       -23 s2 freq  -4371 delay    603\n")
    sup._read_phc2sys()
    assert sup.monitor.sys_offset_ns == -23


def test_observe_mode_refuses_hardware_timestamping() -> None:
    """Observe mode measures the system clock: a hardware-timestamping observe configuration is refused."""
    with pytest.raises(ValueError, match="software timestamping"):
        SupervisorConfig(host="h1", interface="eth0", role="slave", mode=PtpMode.OBSERVE, hardware=True,
                         ptp4l_conf="")
