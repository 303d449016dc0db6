"""Telling a refused login from an unreachable cluster (pure logic; the brokers' side is in
tests/faults/test_kafka_faults.py)."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError, SaslAuthenticationFailedError

from core.kafka import KafkaAuthError, explaining_auth_failures
from core.settings import Settings

SASL = Settings(kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="journey")


def test_a_refusal_raised_or_wrapped_by_the_client_is_named() -> None:
    refused = SaslAuthenticationFailedError("Authentication failed during authentication")
    named = pytest.raises(KafkaAuthError, match="JOURNEY_KAFKA_SASL_USERNAME='journey'")
    with named, explaining_auth_failures(SASL):
        try:
            raise refused
        except SaslAuthenticationFailedError as exc:
            raise KafkaTimeoutError("bootstrap timed out") from exc


def test_a_time_out_without_a_refusal_stays_what_it_is() -> None:
    with pytest.raises(KafkaTimeoutError), explaining_auth_failures(SASL):
        raise KafkaTimeoutError("SASL Authentication timed out")
