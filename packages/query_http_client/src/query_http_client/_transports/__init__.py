"""The transports: one file per way of calling upstream (``base.py`` is the interface)."""
