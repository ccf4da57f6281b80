"""rigsync across hosts: key expressions and wire messages (pure), the Zenoh session, certificates."""
