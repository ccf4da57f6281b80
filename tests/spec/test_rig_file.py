"""The rig file: every example loads; every bad value is an error naming file, field, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigsync.core.errors import RigFileError
from rigsync.core.frame import StreamKind
from rigsync.core.sync import LinkKind, SyncMethod, Topology
from rigsync.spec import load_rig, loads_rig

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))

BASE = """
[[hosts]]
name = "h1"
capture_cards = [{ name = "quad0", model = "zed-link-quad" }]
nics = [{ name = "eth0", timestamping = "hardware" }]

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "A0"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "A1"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }]
"""


def load(extra: str = "", base: str = BASE) -> object:
    return loads_rig(base + extra, "rig.toml")


def error(text: str) -> RigFileError:
    with pytest.raises(RigFileError) as info:
        loads_rig(text, "rig.toml")
    return info.value


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_loads(path: Path) -> None:
    """Every example rig in examples/ is a valid rig file."""
    rig = load_rig(path)
    assert rig.devices and rig.hosts
    assert rig.text == path.read_text()


def test_typed_frozen_model() -> None:
    """A loaded rig is typed: enums, parsed connections, defaults, and it cannot be mutated."""
    rig = loads_rig(BASE + """
[[sync]]
name = "stage"
method = "hardware"
topology = "daisy-chain"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }]
""", "rig.toml")
    dev = rig.device("k1")
    assert dev.connection.kind is LinkKind.USB and dev.connection.bus == "mb0"
    assert dev.driver == "sim"
    assert dev.streams[0].kind is StreamKind.COLOR and dev.streams[0].exposure_us == 8000
    assert rig.device("k0").streams[0].auto_exposure
    group = rig.sync_groups[0]
    assert group.method is SyncMethod.HARDWARE and group.topology is Topology.DAISY_CHAIN
    assert group.delay_ns("k1") == 160_000
    with pytest.raises(AttributeError):
        dev.serial = "x"  # type: ignore[misc]


def test_fps_error_names_file_field_value_and_allowed() -> None:
    """A frame rate the model lacks reports file, field path, value and the supported rates."""
    err = error(BASE.replace("fps = 30, exposure_us", "fps = 25, exposure_us"))
    assert str(err) == "rig.toml: devices[1].streams[0].fps = 25: azure-kinect-dk color 1280x720 supports 5, 15, 30"
    assert err.field == "devices[1].streams[0].fps" and err.value == 25


def test_unknown_key_is_an_error() -> None:
    """Unknown keys are errors listing the keys that are allowed, not warnings."""
    err = error(BASE.replace('serial = "A1"', 'serial = "A1"\nserail = "typo"'))
    assert err.field == "devices[1].serail"
    assert "unknown key" in str(err) and "serial" in err.allowed


def test_unknown_key_in_nested_table() -> None:
    """Unknown keys inside inline tables (streams) are caught with their full path."""
    err = error(BASE.replace("fps = 30 }", "fps = 30, gain = 4 }"))
    assert err.field == "devices[0].streams[0].gain"


@pytest.mark.parametrize(
    ("replace", "field", "fragment"),
    [
        (('model = "azure-kinect-dk"\nserial = "A0"', 'model = "kinect"\nserial = "A0"'), "devices[0].model",
         "not a camera model"),
        (('host = "h1"\nconnection = "usb:mb0"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]',
          'host = "h9"\nconnection = "usb:mb0"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]'),
         "devices[0].host", "not a declared host"),
        (('connection = "usb:mb0"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]',
          'connection = "gmsl:quad0:0"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]'),
         "devices[0].connection", "connects over usb"),
        (("width = 1280, height = 720, fps = 30 }", "width = 1280, height = 800, fps = 30 }"),
         "devices[0].streams[0].width,height", "no such resolution"),
        (('{ kind = "color", width = 1280, height = 720, fps = 30 }',
          '{ kind = "color", width = 1280, height = 720, fps = 30, format = "z16" }'),
         "devices[0].streams[0].format", "not a azure-kinect-dk color format"),
        (("exposure_us = 8000", "exposure_us = 200"), "devices[1].streams[0].exposure_us", "exposure range"),
        (('connection = "usb:mb0"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]',
          'connection = "usb"\nstreams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]'),
         "devices[0].connection", "not a connection"),
        (('serial = "A1"', 'serial = "A0"'), "devices[1].serial", "serial already used"),
        (('serial = "A1"', 'serial = "$(touch /tmp/x)A1"'), "devices[1].serial", "not a valid serial number"),
        (('serial = "A1"', 'serial = "A 1"'), "devices[1].serial", "not a valid serial number"),
        (('serial = "A1"', 'serial = ""'), "devices[1].serial", "not a valid serial number"),
        (('serial = "A1"', 'serial = "A1"\ndriver = "k4a"'), "devices[1].driver", "no such driver"),
        (('id = "k1"', 'id = "k0"'), "devices[1].id", "id used twice"),
        (('{ kind = "color", width = 1280, height = 720, fps = 30 }',
          '{ kind = "depth", width = 1280, height = 720, fps = 30 }'), "devices[0].streams[0].width,height",
         "no such resolution"),
        (("fps = 30, exposure_us = 8000", 'fps = 30, exposure = "manual"'), "devices[1].streams[0].exposure",
         "only \"auto\""),
    ],
)
def test_bad_device_values(replace: tuple[str, str], field: str, fragment: str) -> None:
    """Each bad device value is reported at its field path with a reason."""
    old, new = replace
    assert old in BASE
    err = error(BASE.replace(old, new, 1))
    assert err.field == field, str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"rig.toml: {field} = ")


@pytest.mark.parametrize(
    ("group", "field", "fragment"),
    [
        ('method = "hardware"\ntopology = "daisy-chain"\nmembers = [{ device = "k0" }]', "sync[0].source",
         "needs a source"),
        ('method = "hardware"\ntopology = "ring"\nsource = { device = "k0" }\nmembers = [{ device = "k0" }]',
         "sync[0].topology", "not one of the choices"),
        ('method = "ptp"\ntopology = "star"\nmembers = [{ device = "k0" }]', "sync[0].topology",
         "not a topology of method ptp"),
        ('method = "hardware"\ntopology = "star"\nsource = { device = "k9" }\nmembers = [{ device = "k0" }]',
         "sync[0].source.device", "must be a member"),
        ('method = "hardware"\ntopology = "star"\nsource = { device = "k0" }\n'
         'members = [{ device = "k0" }, { device = "k9" }]', "sync[0].members[1].device", "no such device"),
        ('method = "software"\nburst = 3\nmembers = [{ device = "k0" }]', "sync[0].burst", "only genlock and hardware"),
        ('method = "software"\nmembers = [{ device = "k0", role = "PRIMARY" }]', "sync[0].members[0].role",
         "not a role of azure-kinect-dk"),
        ('method = "genlock"\ntopology = "star"\nsource = { trigger = "gen" }\nmembers = [{ device = "k0" }]',
         "sync[0].source.trigger", "no such [[triggers]]"),
        ('method = "genlock"\ntopology = "star"\nsource = { device = "k0", trigger = "gen" }\n'
         'members = [{ device = "k0" }]', "sync[0].source", "exactly one"),
        ('method = "software"\nmembers = [{ device = "k0" }, { device = "k0" }]', "sync[0].members[1].device",
         "listed twice"),
        ('method = "software"\nmembers = [{ device = "k0", delay_us = -5 }]', "sync[0].members[0].delay_us",
         "out of range (allowed: 0 to 1,000,000 us)"),
        ('method = "hardware"\ntopology = "capture-card"\nmembers = [{ device = "k0" }]', "sync[0].members[0].device",
         "GMSL2 cameras only"),
        ('method = "ptp"\nmembers = [{ device = "k0" }]\n[sync.ptp]\ngrandmaster = "nobody"',
         "sync[0].ptp.grandmaster", "no such host"),
        ('method = "ptp"\nmembers = [{ device = "k0" }]\n[sync.ptp]\ngrandmaster = "h1"\nhosts = ["h9"]',
         "sync[0].ptp.hosts[0]", "no such host"),
        ('method = "ptp"\nmembers = []', "sync[0].members", "[sync.ptp] hosts"),
        ('method = "ptp"\nmembers = [{ device = "k0" }]\n[sync.ptp]\ngrandmaster = "h1"\nmode = "watch"',
         "sync[0].ptp.mode", "not one of the choices"),
        ('method = "ptp"\nmembers = [{ device = "k0" }]\n[sync.ptp]\ngrandmaster = "h1"\nlog_sync_interval = 9',
         "sync[0].ptp.log_sync_interval", "out of range"),
    ],
)
def test_bad_sync_groups(group: str, field: str, fragment: str) -> None:
    """Each bad sync group value is reported at its field path with a reason."""
    err = error(BASE + f'\n[[sync]]\nname = "g"\n{group}\n')
    assert err.field == field, str(err)
    assert fragment in str(err), str(err)


def test_device_in_two_groups() -> None:
    """A device belongs to at most one sync group."""
    err = error(BASE + '[[sync]]\nname = "a"\nmethod = "software"\nmembers = [{ device = "k0" }]\n'
                       '[[sync]]\nname = "b"\nmethod = "software"\nmembers = [{ device = "k0" }]\n')
    assert err.field == "sync[1].members[0].device" and "already in sync group a" in str(err)


def test_gmsl_needs_a_declared_card_and_port_in_range() -> None:
    """A GMSL2 camera names a declared capture card and a port the card has."""
    zedx = """
[[devices]]
id = "x0"
model = "zed-x"
serial = "X0"
host = "h1"
connection = "gmsl:{conn}"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30 }}]
"""
    assert load(zedx.format(conn="quad0:7"))
    err = error(BASE + zedx.format(conn="quad0:8"))
    assert err.field == "devices[2].connection" and "ports 0 to 7" in str(err)
    err = error(BASE + zedx.format(conn="duo1:0"))
    assert "declares no capture card duo1" in str(err) and "quad0" in err.allowed


def test_toml_syntax_error_names_the_file() -> None:
    """A TOML syntax error is reported with the file name and position."""
    err = error("[[hosts]\nname = 1")
    assert str(err).startswith("rig.toml: not valid TOML")


def test_type_errors() -> None:
    """Values of the wrong type name the expected type."""
    err = error(BASE.replace("width = 1280, height = 720, fps = 30 }", 'width = "1280", height = 720, fps = 30 }'))
    assert err.field == "devices[0].streams[0].width" and "expected an integer" in str(err)
    err = error(BASE.replace('name = "h1"', "name = 3"))
    assert err.field == "hosts[0].name" and "expected a string" in str(err)


def test_missing_required_field() -> None:
    """A missing required field is reported as missing."""
    err = error(BASE.replace('serial = "A1"\n', ""))
    assert str(err) == "rig.toml: devices[1].serial = (missing): required"


def test_faults_reference_devices() -> None:
    """Faults name a device of the rig and a known kind."""
    assert load('[[faults]]\ndevice = "k0"\nkind = "disconnect"\nat_s = 1.0\nduration_s = 0.5\n')
    err = error(BASE + '[[faults]]\ndevice = "k7"\nkind = "disconnect"\nat_s = 1.0\nduration_s = 0.5\n')
    assert err.field == "faults[0].device"
    err = error(BASE + '[[faults]]\ndevice = "k0"\nkind = "explode"\nat_s = 1.0\nduration_s = 0.5\n')
    assert err.field == "faults[0].kind" and "disconnect" in err.allowed


PTP_GROUP = '[[sync]]\nname = "p"\nmethod = "ptp"\nmembers = [{ device = "k0" }]\n[sync.ptp]\ngrandmaster = "h1"\n'


@pytest.mark.parametrize(
    ("fault", "field", "fragment"),
    [
        ('host = "h1"\nkind = "clock-step"\nat_s = 1', "faults[0].step_ms", "needs a non-zero step"),
        ('host = "h1"\nkind = "clock-step"\nat_s = 1\nstep_ms = 5\nduration_s = 2', "faults[0].duration_s",
         "instantaneous"),
        ('device = "k0"\nkind = "clock-step"\nat_s = 1\nstep_ms = 5', "faults[0].host", "needs a host"),
        ('host = "h1"\nkind = "disconnect"\nat_s = 1\nduration_s = 2', "faults[0].device", "needs a device"),
        ('host = "h7"\nkind = "clock-step"\nat_s = 1\nstep_ms = 5', "faults[0].host", "no such host"),
        ('device = "k0"\nkind = "drop-burst"\nat_s = 1\nduration_s = 2\nstep_ms = 5', "faults[0].step_ms",
         "only clock-step"),
    ],
)
def test_host_faults(fault: str, field: str, fragment: str) -> None:
    """Host faults (clock-step, ptp-loss) name a host, device faults a device; a step has a size, no duration."""
    err = error(BASE + PTP_GROUP + f"[[faults]]\n{fault}\n")
    assert err.field == field, str(err)
    assert fragment in str(err), str(err)


def test_ptp_loss_needs_a_ptp_host() -> None:
    """A host outside every PTP group has no lock to lose: an error listing the PTP hosts."""
    fault = '[[faults]]\nhost = "h1"\nkind = "ptp-loss"\nat_s = 1\nduration_s = 3\n'
    err = error(BASE + fault)
    assert err.field == "faults[0].host" and "no PTP group" in str(err)
    assert load(PTP_GROUP + fault)


def test_ptp_settings_and_host_mode_load() -> None:
    """[sync.ptp] mode, log_sync_interval and hosts; a host's ptp_mode; [sim] ptp_running_s."""
    rig = loads_rig(BASE.replace('name = "h1"', 'name = "h1"\nptp_mode = "observe"') + PTP_GROUP
                    + 'mode = "discipline"\nlog_sync_interval = -3\nhosts = ["h1"]\n[sim]\nptp_running_s = 0\n',
                    "rig.toml")
    ptp = rig.sync_groups[0].ptp
    assert ptp is not None and ptp.log_sync_interval == -3 and ptp.hosts == ("h1",)
    assert rig.hosts[0].ptp_mode is not None and rig.hosts[0].ptp_mode.value == "observe"
    assert rig.sim.ptp_running_s == 0
    err = error(BASE.replace('name = "h1"', 'name = "external"'))
    assert err.field == "hosts[0].name" and "reserved" in str(err)


def test_unreadable_file(tmp_path: Path) -> None:
    """A rig file that cannot be read is an error naming it."""
    with pytest.raises(RigFileError, match="cannot read the rig file"):
        load_rig(tmp_path / "nope.toml")


RS_DEVICE = """
[[devices]]
id = "rs0"
model = "realsense-d435"
serial = "827312070001"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "depth", width = 848, height = 480, fps = 30 }]
"""


def test_a_realsense_device_may_be_a_recording() -> None:
    """`file` names the recording that stands in for a RealSense device."""
    rig = loads_rig(BASE + RS_DEVICE.replace('connection =', 'driver = "realsense"\nfile = "cam1.db3"\nconnection ='),
                    "rig.toml")
    assert rig.device("rs0").file == "cam1.db3"
    assert rig.device("k0").file is None


@pytest.mark.parametrize(("lines", "problem"), [
    ('file = "cam1.db3"', "only a realsense or uvc device plays a recording, this one's driver is 'sim'"),
    ('driver = "realsense"\nfile = "cam1.mp4"', "not a recording the realsense driver plays"),
    ('driver = "uvc"\nfile = "cam1.db3"', "not a recording the uvc driver plays"),
    ('driver = "gige"\nfile = "cam1.mkv"',
     "only a realsense or uvc device plays a recording, this one's driver is 'gige'"),
])
def test_a_bad_recording_file_names_the_field_and_what_is_allowed(lines: str, problem: str) -> None:
    """A recording on a driver that cannot play it, or a file that is no RealSense recording, is refused."""
    err = error(BASE + RS_DEVICE.replace("connection =", f"{lines}\nconnection ="))
    assert err.field == "devices[2].file" and problem in str(err)


def test_a_hosts_agent_endpoint_loads_and_a_bad_one_is_named() -> None:
    """``[[hosts]] agent``: a tcp/ or tls/ endpoint loads; another form, a port out of range, an address a capture
    cannot connect to, a non-string or one endpoint on two hosts is an error naming the file, field, value and
    the allowed forms."""
    with_agent = BASE.replace('name = "h1"', 'name = "h1"\nagent = "tls/10.0.0.2:7447"')
    assert loads_rig(with_agent, "rig.toml").hosts[0].agent == "tls/10.0.0.2:7447"
    assert loads_rig(BASE, "rig.toml").hosts[0].agent is None
    assert loads_rig(BASE.replace('name = "h1"', 'name = "h1"\nagent = "tcp/[fe80::1]:7447"'),
                     "rig.toml").hosts[0].agent == "tcp/[fe80::1]:7447"
    forms = "(allowed: tcp/<host>:<port> or tls/<host>:<port> (an IPv6 host in brackets), port 0-65535)"
    for bad in ("udp/10.0.0.2:7447", "tls/10.0.0.2:70000", "10.0.0.2:7447", "tls/10.0.0.2"):
        err = error(BASE.replace('name = "h1"', f'name = "h1"\nagent = "{bad}"'))
        assert str(err) == f'rig.toml: hosts[0].agent = "{bad}": not a Zenoh endpoint rigsync uses {forms}'
    err = error(BASE.replace('name = "h1"', 'name = "h1"\nagent = "tls/0.0.0.0:7447"'))
    assert str(err) == ('rig.toml: hosts[0].agent = "tls/0.0.0.0:7447": every address of the host: a capture on '
                        'another host cannot connect there (allowed: the address other hosts reach this host at, '
                        'e.g. tls/10.0.0.2:7447)')
    err = error(BASE.replace('name = "h1"', "name = \"h1\"\nagent = 7447"))
    assert str(err) == "rig.toml: hosts[0].agent = 7447: expected a string, got an integer"
    second = '[[hosts]]\nname = "h2"\nagent = "tls/10.0.0.2:7447"\n'
    err = error(with_agent + second)
    assert str(err) == ('rig.toml: hosts[1].agent = "tls/10.0.0.2:7447": also hosts[0]\'s agent endpoint '
                        "(allowed: one agent endpoint per host (the address of that host))")


GIGE_DEVICE = """
[[devices]]
id = "g0"
model = "gige-ptp-area-scan"
serial = "EVT-1"
host = "h1"
connection = "eth:eth0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30, format = "mono8" }]
"""


def test_a_gige_cameras_packet_size_loads_and_other_cameras_refuse_it() -> None:
    """``packet_size`` on a GigE Vision camera is kept (None where left out); on any other camera, or out of range
    or not an integer, it is refused at its field with what is allowed."""
    rig = loads_rig(BASE + GIGE_DEVICE + "packet_size = 1500\n", "rig.toml")
    assert rig.device("g0").packet_size == 1500 and rig.device("k0").packet_size is None
    assert loads_rig(BASE + GIGE_DEVICE, "rig.toml").device("g0").packet_size is None
    err = error(BASE.replace('connection = "usb:mb0"\n', 'connection = "usb:mb0"\npacket_size = 1500\n', 1))
    assert str(err) == ("rig.toml: devices[0].packet_size = 1500: azure-kinect-dk is no GigE Vision camera: only "
                        "those stream GVSP packets (allowed: leave packet_size out)")
    err = error(BASE + GIGE_DEVICE + "packet_size = 575\n")
    assert str(err) == ("rig.toml: devices[2].packet_size = 575: out of range (allowed: 576 to 16,384 bytes)")
    err = error(BASE + GIGE_DEVICE + "packet_size = 1500.5\n")
    assert err.field == "devices[2].packet_size" and "expected an integer" in err.problem
