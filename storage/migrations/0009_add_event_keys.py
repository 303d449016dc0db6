"""Add two hashed keys to events, computed at insert: ``event_key`` (the event id's hash) and
``identity_key`` (the hash of the user id, else the anonymous id).

Every journey analysis groups events per person and orders them by (time, event id hash),
and hashing two string columns on every read cost more than the rest of that grouping: read as
stored UInt64 columns, a 10 M-event funnel's timelines build in half the time. DEFAULT, not
MATERIALIZED: inserts do not name them and the server computes them, and on a cluster the
Distributed table forwards them to the shards (old servers refuse a MATERIALIZED column in
the blocks a Distributed table sends). Parts written before this migration compute them on
read until a merge rewrites them (same values, only slower).
"""

from storage.migrations.runner import Migrator

EVENT_KEY = "cityHash64(event_id)"
IDENTITY_KEY = "cityHash64(if(user_id != '', user_id, anonymous_id))"


def forwards(m: Migrator) -> None:
    m.add_column("events", "event_key", f"UInt64 DEFAULT {EVENT_KEY}")
    m.add_column("events", "identity_key", f"UInt64 DEFAULT {IDENTITY_KEY}")
