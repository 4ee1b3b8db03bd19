"""Event social-reporting aggregator: collect, deduplicate, moderate and show what people post about an event."""

__version__ = "0.1.0"
