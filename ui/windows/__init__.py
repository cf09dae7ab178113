"""Top-level windows of the workstation: the results view, the live monitor."""
