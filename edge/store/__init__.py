"""The daemon's small local SQLite store (`site.db` in the state directory): facts the
site keeps whether or not the uplink runs (bay availability; site access adds bookings,
assignments and its audit log as further schema migrations)."""

from edge.store.local_store import LocalStore, StoreUnavailable

__all__ = ["LocalStore", "StoreUnavailable"]
