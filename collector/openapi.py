"""The tracking API's OpenAPI 3.1 description, served at ``/v1/openapi.json``: the Segment-style
endpoints, their bodies (the message schema is ``schemas/segment/message``, the one the collector
validates with) and every answer. The fuzzing tests (schemathesis) generate requests from it and
check the answers against it."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import schemas

ERROR = {
    "type": "object",
    "properties": {
        "success": {"const": False},
        "code": {"type": "string", "minLength": 1},
        "message": {"type": "string", "minLength": 1},
        "error": {"type": "string", "minLength": 1},
        "rejected": {"type": "array"},
        "parameter": {"type": "string"},
    },
    "required": ["success", "code", "message", "error"],
}
REJECTED = {
    "type": "object",
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "messageId": {},
        "reason": {"type": "string", "minLength": 1},
    },
    "required": ["index", "messageId", "reason"],
    "additionalProperties": False,
}
ACCEPTED = {
    "type": "object",
    "properties": {
        "success": {"const": True},
        "accepted": {"type": "integer", "minimum": 1},
        "rejected": {"type": "array", "items": REJECTED},
    },
    "required": ["success", "accepted", "rejected"],
    "additionalProperties": False,
}
FAILURES = {
    "400": "malformed JSON, no events, or no event accepted (with `rejected`, each with its reason)",
    "401": "missing, unknown or revoked write key",
    "403": "the request's Origin is not on the write key's allowlist",
    "413": "the body (after gunzip) or a single event is over its limit",
    "415": "unsupported Content-Type or Content-Encoding",
    "429": "rate limited per write key or per IP; Retry-After and X-RateLimit-Reset say how "
    "many seconds until the same request passes",
    "503": "events could not be made durable now; retry after Retry-After",
}
SINGLE = ("track", "page", "screen", "identify", "group", "alias")


def _message() -> dict[str, Any]:
    schema = copy.deepcopy(schemas.load(schemas.INBOUND_MESSAGE))
    for key in ("$schema", "self"):
        schema.pop(key, None)
    return schema


def _responses() -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {
            "description": "every accepted event is durable (Kafka or the spool); "
            "rejected ones are listed with their reasons",
            "content": {"application/json": {"schema": ACCEPTED}},
        }
    }
    for status in FAILURES:
        out[status] = _failure(status)
    return out


def _failure(status: str) -> dict[str, Any]:
    return {
        "description": FAILURES[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _post(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"writeKey": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": _responses(),
        }
    }


SERVED = {  # what the website (or a server) is told of one experiment
    "type": "object",
    "properties": {
        "variant": {"type": "string"},
        "segment": {"type": "string", "description": "the targeted segment ('' for everyone)"},
        "content": {"type": "object", "description": "the variant's content, as defined"},
    },
    "required": ["variant", "segment", "content"],
    "additionalProperties": False,
}
PERSONAL_FAILURES = {
    "400": "no anonymous id (or user id), or one of more than 200 characters",
    "401": FAILURES["401"],
    "403": "the request's Origin is not on the write key's allowlist, or a browser key asked by "
    "user id",
    "429": FAILURES["429"],
    "503": "nothing to answer from yet: no segments published, no store to read experiments from",
}


def _personal(summary: str, ids: list[str], answer: dict[str, Any]) -> dict[str, Any]:
    """A GET answered from the collector's copy of what was published (collector.personalize)."""
    parameters = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in ("writeKey", *ids)
    ]
    failures = {
        status: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status, text in PERSONAL_FAILURES.items()
    }
    return {
        "get": {
            "summary": summary,
            "security": [{"writeKey": []}],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "the answer; its ETag lets the browser ask cheaply again",
                    "content": {"application/json": {"schema": answer}},
                },
                "304": {"description": "unchanged since the ETag sent in If-None-Match"},
                **failures,
            },
        }
    }


@cache
def document() -> dict[str, Any]:
    message = {"$ref": "#/components/schemas/Message"}
    batch = {
        "type": "object",
        "properties": {
            "batch": {"type": "array", "items": message, "minItems": 1},
            "context": {"type": "object"},
            "sentAt": {"type": "string"},
            "writeKey": {"type": "string"},
        },
        "required": ["batch"],
    }
    paths = {
        "/v1/batch": _post("Send several messages", batch),
        "/v1/b": _post(
            "Send several messages (the same as /v1/batch; the mobile SDKs' and analytics.js's "
            "batching path)",
            batch,
        ),
        "/v1/import": _post("Send several messages (the same as /v1/batch)", batch),
        "/v1/projects/{writeKey}/settings": {
            "get": {
                "summary": "The settings document analytics.js loads from its CDN; a site whose "
                "snippet sets `analytics._cdn` to the collector gets one that sends every event "
                "to this collector",
                "parameters": [
                    {
                        "name": "writeKey",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "the settings, with `integrations.Segment.io.apiHost` "
                        "this collector's host",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "401": _failure("401"),
                    "403": _failure("403"),
                },
            }
        },
    }
    experiments = {"type": "object", "additionalProperties": SERVED}
    paths["/v1/segments"] = _personal(
        "The visitor's public segments, and the running experiments meant for them with the "
        "variant to show and its content (the snippet's segments() and experiment())",
        ["anonymousId"],
        {
            "type": "object",
            "properties": {
                "segments": {"type": "array", "items": {"type": "string"}},
                "version": {"type": "integer"},
                "experiments": experiments,
            },
            "required": ["segments", "version", "experiments"],
            "additionalProperties": False,
        },
    )
    paths["/v1/experiments"] = _personal(
        "The running experiments meant for a visitor, with the variant to show and its content, "
        "for a server that renders the page: by anonymousId (the website's variant), or by "
        "userId with a server write key (experiments for everyone)",
        ["anonymousId", "userId"],
        {
            "type": "object",
            "properties": {"experiments": experiments},
            "required": ["experiments"],
            "additionalProperties": False,
        },
    )
    for kind in SINGLE:
        paths[f"/v1/{kind}"] = _post(
            f"Send one {kind} message (its type is set by the path)", message
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Journey tracking API",
            "version": "1.0.0",
            "description": "Segment-compatible event collection. The write key is the HTTP "
            "Basic user name (what Segment SDKs send) or `writeKey` in the body.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Message": _message(), "Error": ERROR},
            "securitySchemes": {"writeKey": {"type": "http", "scheme": "basic"}},
        },
    }
