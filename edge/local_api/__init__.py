"""The daemon's local API on a Unix socket, for the technician CLI."""
