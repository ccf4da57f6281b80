"""Several hosts, one capture: rigsync over Zenoh."""
