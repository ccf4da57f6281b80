"""Several hosts, one capture: rigsync over Zenoh (key expressions and wire messages, pure; the Zenoh
session; the rig's certificates)."""
