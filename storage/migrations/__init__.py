"""Numbered ClickHouse migrations: ``NNNN_name.py`` files in this folder, applied in order.

Each file has a docstring (its description) and ``forwards(m: Migrator)``. Every step is
idempotent (IF NOT EXISTS, or checked against system tables), so two loaders starting at once,
or a run cut short, are harmless. Applied versions are recorded in ``journey_migrations``.
"""

from storage.migrations.runner import Migration, Migrator, apply, discover, pending

__all__ = ["Migration", "Migrator", "apply", "discover", "pending"]
