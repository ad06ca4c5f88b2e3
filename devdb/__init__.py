"""devdb: one command for a team's local and CI PostgreSQL."""

__version__ = "0.1.0"
