"""Edge controller for heavy-duty electric-truck charging hubs."""

__version__ = "0.1.0"
