"""Fixtures for the email tests: a running SMTP server and a clinic whose therapists have mail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inbox import SMTPServer


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp):
    """The app, sending to the test's SMTP server."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
    return app


@pytest.fixture
def clinic(world, mail_app):
    """The test clinic with two IMS therapists who both receive invites."""
    world.maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    world.daniel = world.make_therapist("Daniel Okafor", email="daniel@clinic.example")
    return world
