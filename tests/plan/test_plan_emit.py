"""Vendor-native configs emitted from a plan: Orbbec JSON, k4arecorder lines, RealSense options, GenICam
feature lists and linuxptp files, each checked against the vendor's own schema and the rig's plan."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from rigsync.core.ptp import PtpMode
from rigsync.plan import build_plan
from rigsync.plan.emit import emit_all, genicam, kinect, orbbec, ptp_files, realsense
from rigsync.plan.model import Plan
from rigsync.spec import load_rig, loads_rig

EXAMPLES = Path(__file__).parents[2] / "examples"

SEED_002_EXAMPLE = """
{
    "devices": [
        {
            "serial_number": "CP3S34D00051",
            "config": {
                "mode": "PRIMARY",
                "depth_delay_us": 0,
                "color_delay_us": 0,
                "trigger_to_image_delay_us": 0,
                "trigger_out_enable": true,
                "trigger_out_delay_us": 0,
                "frames_per_trigger": 1
            }
        },
        {
            "serial_number": "CP3L44P00054",
            "config": {
                "mode": "SECONDARY",
                "depth_delay_us": 0,
                "color_delay_us": 0,
                "trigger_to_image_delay_us": 0,
                "trigger_out_enable": true,
                "trigger_out_delay_us": 0,
                "frames_per_trigger": 1
            }
        }
    ]
}
"""
"""The example config of seeds/002 (Orbbec multi_device_sync_config.json), verbatim."""


def plan_of(name: str) -> Plan:
    return build_plan(load_rig(EXAMPLES / f"{name}.toml"))


def assert_same_shape(ours: Any, vendor: Any, path: str = "$") -> None:
    """Same keys at every level, same JSON types (bool is not int), lists compared item by item."""
    assert type(ours) is type(vendor), f"{path}: {type(ours).__name__} vs vendor {type(vendor).__name__}"
    if isinstance(vendor, dict):
        assert list(ours) == list(vendor), f"{path}: keys {list(ours)} vs vendor {list(vendor)}"
        for key in vendor:
            assert_same_shape(ours[key], vendor[key], f"{path}.{key}")
    elif isinstance(vendor, list):
        assert len(ours) == len(vendor), f"{path}: {len(ours)} items vs vendor {len(vendor)}"
        for i, (a, b) in enumerate(zip(ours, vendor, strict=True)):
            assert_same_shape(a, b, f"{path}[{i}]")


def recorder_lines(text: str) -> list[list[str]]:
    """The k4arecorder command lines of a script, as words, without the trailing ``&``."""
    return [line.removesuffix(" &").split() for line in text.splitlines()
            if line.strip().startswith("k4arecorder --device")]


def rs_cameras(name: str) -> list[dict[str, Any]]:
    """The cameras of the written realsense_options.json."""
    doc = json.loads(realsense.files(plan_of(name))[realsense.OPTIONS_FILE])
    assert doc["rig"] == plan_of(name).rig.name and "rigsync" in doc["generated_by"]
    cameras: list[dict[str, Any]] = doc["cameras"]
    return cameras


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


# --- Orbbec ------------------------------------------------------------------------------------------------


def test_orbbec_json_has_the_vendor_schema_field_by_field() -> None:
    """The emitted JSON has seeds/002's keys at every level, in order, with the same JSON types."""
    text = orbbec.files(plan_of("orbbec_primary_secondary"))[orbbec.FILE_NAME]
    assert_same_shape(json.loads(text), json.loads(SEED_002_EXAMPLE))


def test_orbbec_json_values_follow_the_plan() -> None:
    """PRIMARY/SECONDARY modes, the serials, trigger out on the primary, the secondary's 160 us depth delay."""
    primary, secondary = json.loads(orbbec.files(plan_of("orbbec_primary_secondary"))[orbbec.FILE_NAME])["devices"]
    assert (primary["serial_number"], primary["config"]["mode"]) == ("CP3S34D00051", "PRIMARY")
    assert (secondary["serial_number"], secondary["config"]["mode"]) == ("CP3L44P00054", "SECONDARY")
    assert primary["config"]["trigger_out_enable"] is True
    assert secondary["config"]["trigger_out_enable"] is False  # last of the chain drives nothing
    assert secondary["config"]["depth_delay_us"] == 160 and primary["config"]["depth_delay_us"] == 0
    assert secondary["config"]["color_delay_us"] == 0 and secondary["config"]["trigger_to_image_delay_us"] == 0
    assert {d["config"]["frames_per_trigger"] for d in (primary, secondary)} == {1}


# --- Azure Kinect ------------------------------------------------------------------------------------------


def test_k4arecorder_star_roles_delays_modes_and_order() -> None:
    """Star: two subordinates with 160/320 us sync delays before the master; 1080p, NFOV_UNBINNED, 30 fps."""
    lines = recorder_lines(kinect.script(plan_of("kinect_star")))
    assert [flag(a, "--external-sync") for a in lines] == ["Subordinate", "Subordinate", "Master"]
    assert [flag(a, "--sync-delay") for a in lines] == ["160", "320", None]
    assert [a[-1] for a in lines] == ['"$OUT/kinect-sub1.mkv"', '"$OUT/kinect-sub2.mkv"', '"$OUT/kinect-master.mkv"']
    for a in lines:
        assert (flag(a, "-c"), flag(a, "-d"), flag(a, "-r")) == ("1080p", "NFOV_UNBINNED", "30")
        assert flag(a, "-e") == "10000" and flag(a, "--depth-delay") == "0" and flag(a, "--imu") == "OFF"


def test_k4arecorder_daisy_chain_has_eight_subordinates_then_the_master() -> None:
    """Daisy chain: k1..k8 as subordinates at 160 us steps, k0 the master last; 720p at 30 fps."""
    text = kinect.script(plan_of("kinect_daisy_chain"))
    lines = recorder_lines(text)
    assert [flag(a, "--external-sync") for a in lines] == ["Subordinate"] * 8 + ["Master"]
    assert [flag(a, "--sync-delay") for a in lines[:8]] == [str(160 * i) for i in range(1, 9)]
    assert lines[-1][-1] == '"$OUT/k0.mkv"'
    assert all((flag(a, "-c"), flag(a, "-d"), flag(a, "-r")) == ("720p", "NFOV_UNBINNED", "30") for a in lines)
    assert "k4arecorder --list" in text and "000590000008" in text  # indices are looked up by serial


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("awk") is None, reason="needs sh and awk")
def test_k4arecorder_script_maps_serials_to_indices_and_starts_the_master_last(tmp_path: Path) -> None:
    """Run against a fake k4arecorder: indices come from --list by serial; the master starts once both
    subordinates are running (the script waits SUBORDINATE_WAIT_S between them)."""
    fake = tmp_path / "bin" / "k4arecorder"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n"
                    'if [ "$1" = --list ]; then\n'
                    "  printf 'Index:0\\tSerial:000310000002\\tColor:1.6.102\\n'\n"
                    "  printf 'Index:1\\tSerial:000310000000\\tColor:1.6.102\\n'\n"
                    "  printf 'Index:2\\tSerial:000310000001\\tColor:1.6.102\\n'\n"
                    "  exit 0\nfi\n"
                    'case "$*" in *Subordinate*) touch "$LOG.sub.$2" ;; esac\n'
                    'echo "$(ls "$LOG".sub.* 2>/dev/null | wc -l) $*" >> "$LOG"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    kinect.write(plan_of("kinect_star"), tmp_path)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "LOG": str(tmp_path / "log"),
           "OUT": str(tmp_path), "SUBORDINATE_WAIT_S": "1"}
    subprocess.run(["sh", str(tmp_path / kinect.FILE_NAME), "capture-1"], env=env, check=True, timeout=30)
    calls = {Path(c[-1]).stem: c for c in (line.split() for line in (tmp_path / "log").read_text().splitlines())}
    assert {k: flag(c, "--device") for k, c in calls.items()} == \
        {"kinect-sub1": "2", "kinect-sub2": "0", "kinect-master": "1"}
    assert calls["kinect-master"][0] == "2"  # both subordinates were already running


# --- RealSense ---------------------------------------------------------------------------------------------


def test_realsense_genlock_options() -> None:
    """Master gets inter-cam sync mode 1 and starts last; the Genlock cameras mode 4 (burst 1), manual exposure."""
    cams = rs_cameras("realsense_genlock")
    assert [c["device"] for c in cams] == ["rs-genlock-1", "rs-genlock-2", "rs-genlock-3", "rs-master"]
    assert [c["sensors"]["Stereo Module"]["inter_cam_sync_mode"] for c in cams] == [4, 4, 4, 1]
    master = cams[-1]
    assert master["serial"] == "827312070001" and master["model"] == "Intel RealSense D435"
    assert master["sensors"] == {
        "Stereo Module": {"inter_cam_sync_mode": 1, "enable_auto_exposure": 0, "exposure": 8000, "emitter_enabled": 1},
        "RGB Camera": {"enable_auto_exposure": 1},
    }
    assert master["streams"] == [
        {"stream": "depth", "width": 848, "height": 480, "format": "z16", "fps": 30},
        {"stream": "color", "width": 848, "height": 480, "format": "rgb8", "fps": 30},
    ]
    assert cams[0]["streams"][0]["fps"] == 90
    assert all(c["frame_timeout_ms"] == 5000 for c in cams)


def test_realsense_highspeed_options() -> None:
    """Ten Genlock cameras in mode 4, 848x100 depth at 300 fps, 800 us exposure, staggered 1.1 ms; no colour."""
    cams = rs_cameras("realsense_highspeed")
    assert len(cams) == 10
    for i, c in enumerate(cams):
        assert c["device"] == f"hs-{i}"
        assert c["sensors"] == {"Stereo Module": {"inter_cam_sync_mode": 4, "enable_auto_exposure": 0,
                                                  "exposure": 800, "emitter_enabled": 1}}
        assert c["streams"] == [{"stream": "depth", "width": 848, "height": 100, "format": "z16", "fps": 300}]
        assert c.get("trigger_delay_us", 0) == 1100 * i
        assert c["frame_timeout_ms"] == 5000


def _fake_pyrealsense2(log: list[tuple[str, ...]], serials: list[str]) -> types.ModuleType:
    """Just enough of pyrealsense2 for the emitted snippet: records set_option / enable_stream / start calls."""
    rs = types.ModuleType("pyrealsense2")
    names = ["inter_cam_sync_mode", "enable_auto_exposure", "exposure", "emitter_enabled"]
    rs.option = types.SimpleNamespace(**{n: n for n in names})  # type: ignore[attr-defined]
    rs.stream = types.SimpleNamespace(depth="depth", color="color", infrared="infrared")  # type: ignore[attr-defined]
    rs.format = types.SimpleNamespace(z16="z16", rgb8="rgb8", y8="y8")  # type: ignore[attr-defined]
    rs.camera_info = types.SimpleNamespace(serial_number="serial", name="name")  # type: ignore[attr-defined]

    class Sensor:
        def __init__(self, serial: str, name: str) -> None:
            self.serial, self.name = serial, name

        def get_info(self, what: str) -> str:
            return self.name

        def supports(self, option: str) -> bool:
            return True

        def set_option(self, option: str, value: float) -> None:
            assert isinstance(value, float)
            log.append(("set", self.serial, self.name, option, str(value)))

    class Device:
        def __init__(self, serial: str) -> None:
            self.serial = serial

        def get_info(self, what: str) -> str:
            return self.serial if what == "serial" else "Intel RealSense D435"

        def query_sensors(self) -> list[Sensor]:
            return [Sensor(self.serial, "Stereo Module"), Sensor(self.serial, "RGB Camera")]

    class Config:
        def enable_device(self, serial: str) -> None:
            self.serial = serial

        def enable_stream(self, *args: object) -> None:
            log.append(("stream", self.serial, *map(str, args)))

    class Pipeline:
        def start(self, config: Config) -> None:
            log.append(("start", config.serial))

        def wait_for_frames(self, timeout_ms: int) -> None:
            raise KeyboardInterrupt

        def stop(self) -> None:
            log.append(("stop",))

    rs.context = lambda: types.SimpleNamespace(query_devices=lambda: [Device(s) for s in serials])  # type: ignore[attr-defined]
    rs.config, rs.pipeline = Config, Pipeline  # type: ignore[attr-defined]
    return rs


def test_realsense_setup_snippet_applies_options_before_streaming(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The emitted realsense_setup.py sets every option on every camera, then starts them master last."""
    plan = plan_of("realsense_genlock")
    realsense.write(plan, tmp_path)
    log: list[tuple[str, ...]] = []
    serials = [d.serial for d in plan.rig.devices]
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_pyrealsense2(log, serials))
    monkeypatch.setattr(sys, "argv", ["realsense_setup.py", str(tmp_path / realsense.OPTIONS_FILE)])
    code = compile((tmp_path / realsense.SETUP_FILE).read_text(), realsense.SETUP_FILE, "exec")
    exec(code, {"__name__": "__main__", "__file__": str(tmp_path / realsense.SETUP_FILE)})
    kinds = [entry[0] for entry in log]
    assert kinds.index("stream") > max(i for i, k in enumerate(kinds) if k == "set")  # options first
    assert [e[1] for e in log if e[0] == "start"] == ["827312070002", "827312070003", "827312070004", "827312070001"]
    assert ("set", "827312070001", "Stereo Module", "inter_cam_sync_mode", "1.0") in log
    assert ("stream", "827312070002", "depth", "848", "480", "z16", "90") in log


# --- GenICam -----------------------------------------------------------------------------------------------


def test_genicam_features_for_ptp_frame_sync() -> None:
    """Each of the four cameras gets the seeds/003 PTP frame-sync settings and its image format, in order."""
    out = genicam.files(plan_of("gige_ptp_four"))
    assert sorted(out) == [f"cam-{i}.genicam.txt" for i in range(4)]
    for text in out.values():
        pairs = [tuple(p.strip() for p in line.split("=")) for line in text.splitlines()
                 if line and not line.startswith("#")]
        assert pairs == [
            ("AcquisitionMode", "MultiFrame"), ("TriggerMode", "On"), ("TriggerSource", "Software"),
            ("AcquisitionFrameCount", "1"), ("PtpMode", "TwoStep"), ("Width", "2448"), ("Height", "2048"),
            ("PixelFormat", "BayerRG8"), ("ExposureAuto", "Off"), ("ExposureTime", "2000"),
            ("AcquisitionFrameRate", "60"),
        ]
        assert "gige-ptp-four" in text.splitlines()[0] and "rigsync" in text.splitlines()[0]
        assert "only while stopped" in text and "gate time" in text


def test_genicam_lists_the_packet_size_the_rig_file_sets() -> None:
    """A camera with ``packet_size`` gets its ``GevSCPSPacketSize`` line, after the frame rate; the others none."""
    text = (EXAMPLES / "gige_ptp_four.toml").read_text()
    text = text.replace('connection = "eth:enp1s0f0"', 'connection = "eth:enp1s0f0"\npacket_size = 8192', 1)
    out = genicam.files(build_plan(loads_rig(text, "gige_ptp_four.toml")))
    lines = [line for line in out["cam-0.genicam.txt"].splitlines() if line and not line.startswith("#")]
    assert lines[-2:] == ["AcquisitionFrameRate = 60", "GevSCPSPacketSize = 8192"]
    assert "GevSCPSPacketSize" not in out["cam-1.genicam.txt"]


# --- PTP -----------------------------------------------------------------------------------------------------

TWO_HOSTS = """
[rig]
name = "two-host-ptp"

[[hosts]]
name = "gm-host"
nics = [{{ name = "eth0", timestamping = "hardware", speed_gbps = 10 }}]

[[hosts]]
name = "cam-host"
nics = [{{ name = "enp3s0", timestamping = "{stamping}", speed_gbps = 10 }}]

[[devices]]
id = "cam-a"
model = "gige-ptp-area-scan"
serial = "EVT-A"
host = "gm-host"
connection = "eth:eth0"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30, format = "mono8", exposure_us = 3000 }}]

[[devices]]
id = "cam-b"
model = "gige-ptp-area-scan"
serial = "EVT-B"
host = "cam-host"
connection = "eth:enp3s0"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30, format = "mono8", exposure_us = 3000 }}]

[[sync]]
name = "ptp"
method = "ptp"
members = [{{ device = "cam-a" }}, {{ device = "cam-b" }}]
[sync.ptp]
grandmaster = "gm-host"
step_mode = "{step}"
domain = 3
"""


def two_host_text(stamping: str, step: str = "two-step") -> str:
    return TWO_HOSTS.format(stamping=stamping, step=step)


def two_host_plan(stamping: str, step: str = "two-step") -> Plan:
    return build_plan(loads_rig(two_host_text(stamping, step), "two-hosts.toml"))


def conf_values(text: str) -> dict[str, str]:
    lines = [line.split() for line in text.splitlines() if line and not line.startswith(("#", "["))]
    return {k: v for k, v in lines}


def test_ptp_hardware_slave_and_grandmaster() -> None:
    """Hardware slave: slaveOnly, NTP off, phc2sys PHC -> system clock with -O 0; the grandmaster keeps NTP."""
    files = ptp_files(two_host_plan("hardware"))
    assert sorted(files) == ["ptp-cam-host.sh", "ptp-gm-host.sh", "ptp4l-cam-host.conf", "ptp4l-gm-host.conf"]
    slave, gm = conf_values(files["ptp4l-cam-host.conf"]), conf_values(files["ptp4l-gm-host.conf"])
    assert slave == {"domainNumber": "3", "network_transport": "UDPv4", "delay_mechanism": "E2E",
                     "time_stamping": "hardware", "twoStepFlag": "1", "slaveOnly": "1", "logSyncInterval": "0",
                     "step_threshold": "0.001", "logging_level": "6", "summary_interval": "0"}
    assert gm["priority1"] == "1" and "slaveOnly" not in gm and gm["time_stamping"] == "hardware"
    assert "[global]" in files["ptp4l-cam-host.conf"]
    s = files["ptp-cam-host.sh"]
    assert "timedatectl set-ntp false" in s
    assert 'ptp4l -i enp3s0 -f "$DIR/ptp4l-cam-host.conf" -m &' in s
    assert "phc2sys -s enp3s0 -c CLOCK_REALTIME -O 0 -S 0.001 -w -m &" in s and "37 s" in s
    g = files["ptp-gm-host.sh"]
    assert "timedatectl set-ntp true" in g and "set-ntp false" not in g
    assert "phc2sys -s CLOCK_REALTIME -c eth0 -O 0 -S 0.001 -w -m &" in g
    assert all(text.splitlines()[0].startswith(("#", "#!")) for text in files.values())


def test_ptp_software_slave_uses_dash_s_and_no_phc2sys() -> None:
    """Software time stamping: time_stamping software and ptp4l -S, no phc2sys; still slaveOnly, NTP off."""
    files = ptp_files(two_host_plan("software"))
    slave = conf_values(files["ptp4l-cam-host.conf"])
    assert slave["time_stamping"] == "software" and slave["slaveOnly"] == "1"
    s = files["ptp-cam-host.sh"]
    assert 'ptp4l -i enp3s0 -f "$DIR/ptp4l-cam-host.conf" -S -m &' in s
    assert "phc2sys -s" not in s and "timedatectl set-ntp false" in s


def test_ptp_observe_mode_never_touches_the_clock() -> None:
    """Observe mode: free_running 1 (no step_threshold), NTP left alone, no phc2sys even with hardware
    timestamping; the rig's Sync interval is carried."""
    text = two_host_text("hardware").replace("domain = 3", 'domain = 3\nmode = "observe"\nlog_sync_interval = -3')
    files = ptp_files(build_plan(loads_rig(text, "two-host.toml")))
    for host in ("cam-host", "gm-host"):
        values = conf_values(files[f"ptp4l-{host}.conf"])
        assert values["logSyncInterval"] == "-3"
    slave = conf_values(files["ptp4l-cam-host.conf"])
    assert slave["free_running"] == "1" and "step_threshold" not in slave
    assert slave["time_stamping"] == "software"  # it measures the system clock, the one rigsync maps
    s = files["ptp-cam-host.sh"]
    assert "phc2sys" not in s.replace("no phc2sys", "") and "timedatectl" not in s and " -S -m &" in s


def test_ptp_mode_override_and_host_selection() -> None:
    """``rigsync ptp config --mode observe --host H``: one host's files, in the mode asked for."""
    files = ptp_files(two_host_plan("hardware"), PtpMode.OBSERVE, ("gm-host",))
    assert sorted(files) == ["ptp-gm-host.sh", "ptp4l-gm-host.conf"]
    assert conf_values(files["ptp4l-gm-host.conf"])["free_running"] == "1"


def test_ptp_one_step_group() -> None:
    """One-step: the hardware grandmaster sends one-step Sync (twoStepFlag 0), cameras get PtpMode OneStep."""
    plan = two_host_plan("hardware", "one-step")
    files = ptp_files(plan)
    assert conf_values(files["ptp4l-gm-host.conf"])["twoStepFlag"] == "0"
    assert conf_values(files["ptp4l-cam-host.conf"])["twoStepFlag"] == "1"
    assert ("PtpMode", "OneStep", "match the grandmaster's one-/two-step packets") in genicam.features(plan, "cam-b")


# --- emit_all ------------------------------------------------------------------------------------------------


def test_emit_all_studio_writes_what_applies_and_nothing_else(tmp_path: Path) -> None:
    """Studio: Kinect, RealSense, GenICam and PTP files plus README; no Orbbec JSON; the directory is created."""
    out = tmp_path / "nested" / "emit"
    written = emit_all(plan_of("studio"), out)
    names = [p.name for p in written]
    assert names == ["k4arecorder.sh", "realsense_options.json", "realsense_setup.py", "gige-top.genicam.txt",
                     "gige-side.genicam.txt", "ptp4l-studio-1.conf", "ptp-studio-1.sh", "README.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert not (out / orbbec.FILE_NAME).exists()
    assert os.access(out / "k4arecorder.sh", os.X_OK) and os.access(out / "ptp-studio-1.sh", os.X_OK)
    for p in written:
        text = p.read_text()
        if p.suffix == ".json":
            assert json.loads(text)
        else:
            assert "'studio'" in text.splitlines()[1 if text.startswith("#!") else 0]
            assert "rigsync" in text
    readme = (out / "README.txt").read_text()
    assert all(n in readme for n in names[:-1])


def test_emit_all_writes_only_the_readme_for_a_rig_without_vendor_configs(tmp_path: Path) -> None:
    """ZED-only rig: no vendor file applies, so only README.txt is written (and it says so)."""
    written = emit_all(plan_of("zed2i_usb_three"), tmp_path)
    assert [p.name for p in written] == ["README.txt"]
    assert "none" in written[0].read_text()


def test_emit_all_orbbec_rig_writes_the_json_and_its_readme_header(tmp_path: Path) -> None:
    """Orbbec rig: the JSON (no comments, valid JSON) and a README naming the rig and rigsync."""
    written = emit_all(plan_of("orbbec_primary_secondary"), tmp_path)
    assert [p.name for p in written] == [orbbec.FILE_NAME, "README.txt"]
    json.loads((tmp_path / orbbec.FILE_NAME).read_text())
    readme = (tmp_path / "README.txt").read_text()
    assert "'orbbec-primary-secondary'" in readme and "rigsync" in readme and orbbec.FILE_NAME in readme
