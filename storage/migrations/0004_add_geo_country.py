"""Add geo_country: the event's country, from ``context.location.country`` (sent, or looked up
from the client IP by the collector), so segments and breakdowns read a column, not JSON."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.add_column("events", "geo_country", "String", after="source")
