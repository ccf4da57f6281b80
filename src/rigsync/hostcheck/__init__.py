"""``rigsync check``'s host part: a host's real set-up read and compared with the plan's, one finding per item,
each with the fix as a command (docs/hosts.md, "Prepare the hosts")."""
