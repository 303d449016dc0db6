"""The floor every other package stands on: settings (``JOURNEY_*``), the Kafka connection and
topics, what the HTTP apps share, and loopback processes. It imports none of them."""
