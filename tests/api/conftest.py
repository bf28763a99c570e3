"""Every API response a test receives is checked against the served OpenAPI document.

The app's test client is replaced by one that looks up the operation of each `/api/v1`
request in the generated document and validates the response's body against the schema
documented for its status code (documented.py): a body that does not match, or a status code
the operation does not document, fails the test that received it.
"""

from __future__ import annotations

from typing import Any

import pytest
from documented import check_against_document
from flask import Flask
from flask.testing import FlaskClient


class CheckedClient(FlaskClient):
    """A test client that holds every API response to the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = response.request
        body = response.get_json(silent=True) if response.is_json else None
        check_against_document(request.method, request.path, response.status_code, body)
        return response


@pytest.fixture
def app(app: Flask) -> Flask:
    app.test_client_class = CheckedClient
    return app


@pytest.fixture
def clinic(world):
    """Maya Chen (IMS) and Tom Berg (physio only)."""
    world.ims = world.make_therapist("Maya Chen")
    world.physio_only = world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world
