"""Hold an API response to the OpenAPI document the app serves (generated from its models)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema_rs

from booking.api.openapi import spec

PREFIX = "/api/v1"


@cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, item in spec()["paths"].items():
        pattern = re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)))
        for method, operation in item.items():
            found.append((pattern, method.upper(), operation))
    return found


@cache
def _validator(schema_key: str) -> jsonschema_rs.Validator:
    schema = json.loads(schema_key)
    # A `$ref` to `#/components/...` resolves against this root, which holds the components.
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": spec()["components"]}, validate_formats=True
    )


def check_against_document(method: str, path: str, status: int, body: Any) -> None:
    """Fail unless the document promises this status, and this body, for the request."""
    if not path.startswith(PREFIX + "/"):
        return
    local = path.removeprefix(PREFIX)
    operations = [
        op for pattern, verb, op in _operations() if verb == method and pattern.fullmatch(local)
    ]
    if not operations:
        return  # no such route or method: the 404/405 of the envelope, no operation to hold to
    (operation,) = operations
    documented = operation["responses"].get(str(status))
    assert documented is not None, f"{method} {path} answered {status}, which is undocumented"
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    errors = [str(e) for e in _validator(json.dumps(schema, sort_keys=True)).iter_errors(body)]
    assert not errors, f"{method} {path} {status} does not match its schema: {errors}"
