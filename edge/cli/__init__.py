"""The technician CLI (`edge ...`)."""
