"""Answers checked against the API's own OpenAPI description."""

from __future__ import annotations

from typing import Any

import jsonschema
import requests

from reports.openapi import document


def check(response: requests.Response, path: str, method: str = "get") -> Any:
    """Validate a JSON answer against the description of ``path`` for its status; its body."""
    doc = document()
    described = doc["paths"][path][method]["responses"][str(response.status_code)]
    schema = described["content"]["application/json"]["schema"]
    body = response.json()
    jsonschema.validate(
        body,
        {**schema, "components": doc["components"]},
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    return body
