"""Mail over TLS to a real SMTP server (aiosmtpd) with a real certificate chain (trustme).

The clinic's mail server has a certificate from a certificate authority the machine trusts:
here a test authority, trusted through `SSL_CERT_FILE` exactly as OpenSSL reads the system's
store. The transport checks the chain and the host name; nothing is switched off for tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from inbox import SMTPServer, deliver
from support import local
from test_delivery import invites
from test_invites import NEXT_TUESDAY, book

USER, SECRET = "clinic-mailer", "app password from the provider"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(authority, tmp_path, monkeypatch) -> None:
    """This machine trusts the test authority, as it would a public one."""
    path = tmp_path / "authority.pem"
    authority.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))


def server_context(authority: trustme.CA, host: str = "127.0.0.1") -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(host).configure_cert(context)
    return context


def login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        SECRET.encode(),
    )
    return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535 itself


@pytest.fixture
def serve() -> Iterator:
    started: list[SMTPServer] = []

    def start(**options) -> SMTPServer:
        server = SMTPServer(**options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def clinic(world):
    world.maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    return world


def use(app, server: SMTPServer, **settings) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5, **settings)


def test_starttls_with_a_login_only_over_tls(app, clinic, serve, authority, trusted):
    server = serve(
        tls_context=server_context(authority),
        require_starttls=True,
        authenticator=login,
        auth_required=True,
        auth_require_tls=True,
    )
    use(app, server, MAIL_USE_TLS=True, MAIL_USERNAME=USER, MAIL_PASSWORD=SECRET)
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    assert deliver(app).sent == 2
    assert len(server.inbox) == 2 and all(m.encrypted for m in server.inbox)


def test_implicit_tls(app, clinic, serve, authority, trusted):
    server = serve(ssl_context=server_context(authority))
    use(app, server, MAIL_USE_SSL=True)
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    assert deliver(app).sent == 2
    assert all(m.encrypted for m in server.inbox)


@pytest.mark.parametrize("tls", ["MAIL_USE_TLS", "MAIL_USE_SSL"])
def test_an_untrusted_certificate_sends_nothing_and_waits(app, clinic, serve, authority, tls):
    context = server_context(authority)  # and the machine does not trust the authority
    server = serve(
        **({"tls_context": context} if tls == "MAIL_USE_TLS" else {"ssl_context": context})
    )
    use(app, server, **{tls: True})
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    report = deliver(app)
    assert (report.sent, report.retrying) == (0, 2)
    assert server.inbox == []
    assert all("TLS failed (CERTIFICATE_VERIFY_FAILED)" in r.detail for r in invites(app))


def test_a_certificate_for_another_host_is_refused(app, clinic, serve, authority, trusted):
    server = serve(tls_context=server_context(authority, "mail.elsewhere.example"))
    use(app, server, MAIL_USE_TLS=True)
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    assert deliver(app).retrying == 2
    assert server.inbox == []
    assert all("CERTIFICATE_VERIFY_FAILED" in r.detail for r in invites(app))


def test_a_wrong_password_waits_for_the_settings_to_be_fixed(
    app, clinic, serve, authority, trusted, clock
):
    server = serve(
        tls_context=server_context(authority),
        authenticator=login,
        auth_required=True,
        auth_exclude_mechanism=["LOGIN"],  # PLAIN only: one refusal, as mail providers answer
    )
    use(app, server, MAIL_USE_TLS=True, MAIL_USERNAME=USER, MAIL_PASSWORD="an old password")
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    assert deliver(app).retrying == 2
    assert [r.detail for r in invites(app)] == ["SMTP login refused (535)"] * 2
    app.config["MAIL_PASSWORD"] = SECRET
    clock.advance(minutes=1)
    assert deliver(app).sent == 2


def test_a_server_that_wants_tls_it_was_not_offered_waits_too(app, clinic, serve, authority, clock):
    server = serve(tls_context=server_context(authority), require_starttls=True)
    use(app, server)  # the settings forgot MAIL_USE_TLS: the server refuses with 530
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    report = deliver(app)
    assert (report.sent, report.failed, report.retrying) == (0, 0, 2)
    assert all("530" in r.detail for r in invites(app))
    assert server.inbox == []
