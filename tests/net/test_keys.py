"""Key expressions: the name escape both ways, the builders against their parser, and Zenoh's own rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigsync.net.keys import (
    Channel,
    ChannelKey,
    ControlKey,
    FrameKey,
    KeyCollisionError,
    KeyExprError,
    RigKeys,
    Verb,
    channel_key,
    channel_selector,
    control_key,
    control_selector,
    decode_name,
    encode_name,
    frame_key,
    frames_selector,
    parse_key,
)

ODD_NAMES = ["Studio A #2", "kamera-ö", "a/b", "*", "**", "$*", "x?y", "@events", "%", "%41", ".", "..", "名前",
             "tab\there", "emoji-📷"]


@pytest.mark.parametrize(("name", "chunk"), [
    ("cam-1_left.v2", "cam-1_left.v2"), ("Studio A #2", "Studio%20A%20%232"), ("kamera-ö", "kamera-%C3%B6"),
    ("a/b", "a%2Fb"), ("*", "%2A"), ("$*", "%24%2A"), ("@events", "%40events"), ("%41", "%2541"),
])
def test_encode_name_documented_examples(name: str, chunk: str) -> None:
    """The escape keeps ASCII letters, digits, '-', '_', '.' and writes every other byte of UTF-8 as %XX."""
    assert encode_name(name) == chunk
    assert decode_name(chunk) == name


@given(st.text(min_size=1))
def test_encode_name_round_trips_and_is_a_plain_chunk(name: str) -> None:
    """Any non-empty name maps to an ASCII chunk free of '/', wildcards, '$?#' and a leading '@', and back exactly."""
    chunk = encode_name(name)
    assert chunk.isascii() and chunk
    assert not set(chunk) & set("/*$?#@ ")
    assert decode_name(chunk) == name


def test_empty_name_refused() -> None:
    """An empty name has no chunk (Zenoh forbids empty chunks): the error says so."""
    with pytest.raises(KeyExprError, match="empty name"):
        encode_name("")


@pytest.mark.parametrize(("chunk", "problem"), [
    ("", "empty"), ("a b", "' ' is not allowed"), ("a*", "'\\*' is not allowed"), ("%4", "two upper-case hex"),
    ("%zz", "two upper-case hex"), ("%c3%b6", "two upper-case hex"), ("%C3", "not UTF-8"),
    ("%41", "not the canonical key of 'A'"), ("caf%C3%A9%2", "two upper-case hex"),
])
def test_decode_name_refuses_what_encode_never_makes(chunk: str, problem: str) -> None:
    """decode_name accepts only encode_name's output, so a name has exactly one key chunk."""
    with pytest.raises(KeyExprError, match=problem):
        decode_name(chunk)


def test_builders_and_parser_agree() -> None:
    """Every key the builders make parses back to the same names, channel or verb."""
    rig, host = "Studio A #2", "host-ö"
    assert frame_key(rig, host, "cam 1", "color") == "rigsync/Studio%20A%20%232/host-%C3%B6/cam%201/color"
    assert parse_key(frame_key(rig, host, "cam 1", "color")) == FrameKey(rig, host, "cam 1", "color")
    for channel in Channel:
        assert channel_key(rig, host, channel) == f"rigsync/Studio%20A%20%232/host-%C3%B6/{channel.value}"
        assert parse_key(channel_key(rig, host, channel)) == ChannelKey(rig, host, channel)
    for verb in Verb:
        assert control_key(rig, host, verb) == f"rigsync/Studio%20A%20%232/host-%C3%B6/@control/{verb.value}"
        assert parse_key(control_key(rig, host, verb)) == ControlKey(rig, host, verb)


@given(st.lists(st.text(min_size=1), min_size=4, max_size=4))
def test_frame_keys_round_trip_any_names(names: list[str]) -> None:
    """A frame key of any four names (even named like channels) parses back to those names."""
    assert parse_key(frame_key(*names)) == FrameKey(*names)


@pytest.mark.parametrize(("key", "problem"), [
    ("other/r/h/d/s", "not a rigsync key"), ("rigsync/r/h", "not a rigsync key"),
    ("rigsync/r/h/@control/reboot", "not a control key"), ("rigsync/r/h/@control", "not a control key"),
    ("rigsync/r/h/@video", "unknown channel"), ("rigsync/r/h/@ptp/x", "unknown channel"),
    ("rigsync/r/h/d", "5 chunks"), ("rigsync/r/h/d/s/x", "5 chunks"), ("rigsync/r/h/d/%41", "canonical"),
    ("rigsync/r/h/*/*", "'\\*' is not allowed"),
])
def test_parse_key_refuses_foreign_keys(key: str, problem: str) -> None:
    """A key that is not one the builders make is refused, naming the key and what is wrong."""
    with pytest.raises(KeyExprError, match=problem) as info:
        parse_key(key)
    assert repr(key) in str(info.value) or "key chunk" in str(info.value)


def test_rig_keys_refuses_a_device_on_two_hosts() -> None:
    """A device id declared on two hosts is a collision: the error names the device and both hosts."""
    with pytest.raises(KeyCollisionError, match="device 'cam1' is declared on host 'a' and on host 'b'"):
        RigKeys.of("rig", [("a", "cam1", "color"), ("a", "cam2", "color"), ("b", "cam1", "depth")])


def test_rig_keys_finds_declared_streams_only() -> None:
    """RigKeys builds a stream's key from its device alone and tells declared frame keys from others."""
    keys = RigKeys.of("my rig", [("a", "cam1", "color"), ("a", "cam1", "depth"), ("b", "cam2", "color")])
    assert keys.hosts == ("a", "b")
    assert keys.frame_key("cam2", "color") == "rigsync/my%20rig/b/cam2/color"
    assert keys.find_stream("rigsync/my%20rig/a/cam1/depth") == FrameKey("my rig", "a", "cam1", "depth")
    assert keys.find_stream("rigsync/my%20rig/b/cam1/depth") is None  # cam1 is not on b
    assert keys.find_stream("rigsync/my%20rig/a/cam1/ir") is None
    with pytest.raises(KeyExprError, match="'cam3': not a device of rig 'my rig' \\(allowed: cam1, cam2\\)"):
        keys.frame_key("cam3", "color")


def test_keys_are_canonical_zenoh_keys_and_selectors_select_what_they_say() -> None:
    """Zenoh itself accepts every key as canonical; the frame selector misses channels, channel selectors hit them."""
    zenoh = pytest.importorskip("zenoh", reason="the net extra (eclipse-zenoh) is not installed")
    rig = "Studio A #2"
    keys = [frame_key(rig, h, d, s) for h in ODD_NAMES[:5] for d in ODD_NAMES for s in ("color", "@ptp")]
    keys += [channel_key(rig, h, c) for h in ODD_NAMES for c in Channel]
    keys += [control_key(rig, h, v) for h in ODD_NAMES for v in Verb]
    for key in keys:
        assert str(zenoh.KeyExpr.autocanonize(key)) == key
    ke = zenoh.KeyExpr
    frames = ke(frames_selector(rig))
    for key in keys:
        assert frames.intersects(ke(key)) == isinstance(parse_key(key), FrameKey), key
    assert ke(frames_selector(rig, "@events")).intersects(ke(frame_key(rig, "@events", "d", "s")))
    assert not ke(frames_selector(rig, "h")).intersects(ke(frame_key(rig, "g", "d", "s")))
    for channel in Channel:
        selector = ke(channel_selector(rig, channel))
        assert [k for k in keys if selector.intersects(ke(k))] == [channel_key(rig, h, channel) for h in ODD_NAMES]
        assert ke(channel_selector(rig, channel, "h")).intersects(ke(channel_key(rig, "h", channel)))
    control = ke(control_selector(rig, "名前"))
    assert [k for k in keys if control.intersects(ke(k))] == [control_key(rig, "名前", v) for v in Verb]
    assert not ke(frames_selector("other rig")).intersects(ke(frame_key(rig, "h", "d", "s")))
