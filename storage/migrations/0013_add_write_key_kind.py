"""Add a write key's kind: ``browser`` (the snippet's key, readable in every page) or ``server``
(a backend's, whose HTTP client marks no bot). Keys made before it are browser keys ('')."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.add_column("write_keys", "kind", "String", after="origins")
