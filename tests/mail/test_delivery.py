"""Delivery: nothing lost, nothing twice, through server outages, refusals and crashes."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from datetime import timedelta

import pytest
from inbox import deliver
from sqlalchemy import select
from support import MONDAY, local
from test_invites import NEXT_TUESDAY, book, reschedule

from booking.extensions import db
from booking.mail import outbox
from booking.mail.delivery import Worker
from booking.models import Delivery, OutboxMessage


def rows(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def invites(app) -> list[OutboxMessage]:
    return [r for r in rows(app) if r.event != "reminder"]


def message_ids(inbox) -> Counter[str]:
    return Counter(m.message["Message-ID"] for m in inbox)


def test_an_smtp_outage_loses_nothing_and_doubles_nothing(clinic, mail_app, smtp, clock):
    smtp.stop()
    for n, hour in enumerate((9, 10, 11), start=1):
        book(mail_app, local(NEXT_TUESDAY, hour), service="physio", n=n, therapist_id=clinic.maya)
    report = deliver(mail_app)
    assert (report.sent, report.retrying) == (0, 6)
    waiting = invites(mail_app)
    assert {(r.status, r.attempts) for r in waiting} == {("pending", 1)}
    assert {r.due_at for r in waiting} == {clock.now + timedelta(minutes=1)}  # backoff
    assert all("refused the connection" in r.detail for r in waiting)
    assert deliver(mail_app).sent == 0  # not yet due again

    smtp.start()
    clock.advance(minutes=1)
    assert deliver(mail_app).sent == 6
    clock.advance(minutes=30)
    assert deliver(mail_app).sent == 0
    assert len(smtp.inbox) == 6
    assert set(message_ids(smtp.inbox).values()) == {1}
    assert {r.message_id for r in invites(mail_app)} == set(message_ids(smtp.inbox))
    assert {(r.status, r.attempts) for r in invites(mail_app)} == {("sent", 2)}


def test_a_temporary_refusal_is_retried_with_growing_pauses(clinic, mail_app, smtp, clock):
    smtp.handler.answer = lambda _: "451 4.3.0 Try again later"
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    pauses = []
    for _ in range(3):
        deliver(mail_app)
        due = invites(mail_app)[0].due_at
        pauses.append(due - clock.now)
        clock.now = due
    assert pauses == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert invites(mail_app)[0].detail == "server answered 451"
    smtp.handler.answer = lambda _: None
    assert deliver(mail_app).sent == 2
    assert {r.attempts for r in invites(mail_app)} == {4}


def test_it_gives_up_after_a_bounded_number_of_tries_and_says_so(
    clinic, mail_app, smtp, clock, caplog
):
    mail_app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    smtp.stop()
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    for _ in range(5):
        deliver(mail_app)
        clock.advance(hours=1)
    assert {(r.status, r.attempts) for r in invites(mail_app)} == {("failed", 3)}
    assert "gave up" in caplog.text
    assert "patient1@example.com" not in caplog.text  # no patient data in the logs
    # Staff can see the failures (the staff pages will show them per appointment) ...
    runner = mail_app.test_cli_runner()
    listed = runner.invoke(args=["outbox", "list"])
    assert listed.exit_code == 0
    assert listed.output.count("\tfailed") == 0 and listed.output.count("tries 3") == 2
    assert "refused the connection" in listed.output
    assert "patient1@example.com" not in listed.output
    # ... and send them again once the server is back.
    smtp.start()
    assert runner.invoke(args=["outbox", "retry", "--all"]).output.startswith("2 message(s)")
    assert deliver(mail_app).sent == 2
    assert len(smtp.inbox) == 2


def test_a_permanent_refusal_fails_at_once(clinic, mail_app, smtp):
    smtp.handler.answer = lambda r: "550 5.1.1 No such user" if "patient" in r.to else None
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    report = deliver(mail_app)
    assert (report.sent, report.failed) == (1, 1)
    failed = next(r for r in invites(mail_app) if r.recipient == "patient")
    assert (failed.status, failed.attempts, failed.detail) == ("failed", 1, "server answered 550")


def test_a_move_never_overtakes_the_booking_it_changes(clinic, mail_app, smtp, clock):
    smtp.handler.answer = lambda _: "451 busy"
    appointment = book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    deliver(mail_app)
    smtp.handler.answer = lambda _: None
    reschedule(mail_app, appointment, local(NEXT_TUESDAY, 13))
    assert deliver(mail_app).sent == 0  # the move waits behind the booking's retry
    clock.advance(minutes=1)
    assert deliver(mail_app).sent == 4
    for address in ("patient1@example.com", "maya@clinic.example"):
        sequences = [int(m.event()["SEQUENCE"]) for m in smtp.inbox if m.to == address]
        assert sequences == [0, 1]


def _fork():
    return multiprocessing.get_context("fork")


def _child_deliver(app, name: str, go, limit: int) -> None:
    try:
        go.wait(timeout=60)
        with app.app_context():
            db.engine.dispose(close=False)  # the parent's connections are not ours
            Worker(name=name).deliver_due(limit=limit)
    finally:
        os._exit(0)


def _start_workers(app, count: int, *, limit: int = 5):
    with app.app_context():
        db.engine.dispose()
    context = _fork()
    go = context.Event()
    workers = [
        context.Process(target=_child_deliver, args=(app, f"worker-{i}", go, limit))
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    return go, workers


def test_a_crash_between_sending_and_marking_sent_resends_the_same_message(
    clinic, mail_app, smtp, clock
):
    """The one case SMTP cannot make exactly-once; the copy is recognisably the same message.

    The worker process is killed (SIGKILL) while the server holds the message, before the
    worker could record it as sent. The row stays leased; when the lease expires another
    worker sends it again with the same Message-ID, UID and SEQUENCE, which mail systems and
    calendar clients treat as the one message they already have. Nothing is lost.
    """
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    victim: list[int] = []

    def crash_the_worker(_received):
        if victim:
            os.kill(victim.pop(), signal.SIGKILL)
        return None

    smtp.handler.answer = crash_the_worker
    go, (worker,) = _start_workers(mail_app, 1)
    victim.append(worker.pid)
    go.set()
    worker.join(timeout=60)
    assert worker.exitcode == -signal.SIGKILL
    assert len(smtp.inbox) == 1
    crashed = next(
        r for r in invites(mail_app) if r.message_id == smtp.inbox[0].message["Message-ID"]
    )
    assert (crashed.status, crashed.claimed_by, crashed.attempts) == ("pending", "worker-0", 1)

    assert deliver(mail_app).sent == 0  # the dead worker's batch is still leased
    clock.advance(minutes=11)  # past the lease
    assert deliver(mail_app).sent == 2  # the crashed message again, and the one never tried
    ids = message_ids(smtp.inbox)
    assert ids[crashed.message_id] == 2  # the same message, twice
    assert sorted(ids.values()) == [1, 2]
    copies = [m for m in smtp.inbox if m.message["Message-ID"] == crashed.message_id]
    assert {str(c.event()["UID"]) for c in copies} == {str(copies[0].event()["UID"])}
    assert {int(c.event()["SEQUENCE"]) for c in copies} == {0}
    assert {(r.status) for r in invites(mail_app)} == {"sent"}


@pytest.mark.slow
def test_workers_delivering_at_once_never_send_a_message_twice(clinic, mail_app, smtp):
    n = 0
    for day in (NEXT_TUESDAY, NEXT_TUESDAY + timedelta(days=1)):
        for hour in (9, 10, 11, 13, 14, 15):
            for therapist in (clinic.maya, clinic.daniel):
                n += 1
                book(mail_app, local(day, hour), service="physio", n=n, therapist_id=therapist)
    expected = {r.message_id for r in invites(mail_app)}
    assert len(expected) == 2 * n == 48
    go, workers = _start_workers(mail_app, 4, limit=3)
    go.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert deliver(mail_app).sent == 0  # the workers left nothing behind
    sent = message_ids(smtp.inbox)
    assert set(sent) == expected
    assert set(sent.values()) == {1}, [k for k, v in sent.items() if v > 1]
    assert {r.status for r in invites(mail_app)} == {"sent"}
    assert len({r.claimed_by for r in invites(mail_app)}) > 1  # they really shared the work


def test_without_a_mail_server_messages_are_eml_files(world, app, tmp_path, clock):
    from email import message_from_bytes, policy

    app.config.update(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mail"))
    maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    book(app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=maya)
    assert deliver(app).sent == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert [f.name.split("-", 3)[-1] for f in files] == [
        "booked-patient.eml",
        "booked-therapist.eml",
    ]
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "patient1@example.com"
    assert message.get_content_type() == "multipart/mixed"
    assert not list((tmp_path / "mail").glob("*.partial"))


def test_deliver_command_and_loop(clinic, mail_app, smtp):
    import threading

    from booking.mail.delivery import Worker, run_loop

    runner = mail_app.test_cli_runner()
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0
    assert "sent 2" in result.output
    stop = threading.Event()

    def loop():
        with mail_app.app_context():
            run_loop(Worker(name="looper"), interval=0.05, stop=stop)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        book(mail_app, local(NEXT_TUESDAY, 13), service="physio", n=2, therapist_id=clinic.maya)
        assert len(smtp.handler.wait_for(4)) == 4  # the running loop picked them up
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_backoff_is_bounded():
    assert [outbox.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 7, 8, 20)] == [
        1,
        2,
        4,
        60,
        60,
        60,
    ]


LEAD = timedelta(days=2)


def test_reminders_follow_the_appointment(clinic, mail_app, smtp, clock):
    start = local(NEXT_TUESDAY, 9)
    # The default lead: two days, so the reminder comes while online changes are still open.
    appointment = book(mail_app, start, service="physio", therapist_id=clinic.maya)
    reminder = next(r for r in rows(mail_app) if r.event == "reminder")
    assert reminder.due_at == start - LEAD
    deliver(mail_app)
    assert not any("Reminder" in m.message["Subject"] for m in smtp.inbox)
    # Moved: the reminder for the old time is dropped, one for the new time is queued.
    later = local(NEXT_TUESDAY + timedelta(days=2), 13)
    reschedule(mail_app, appointment, later)
    reminders = [r for r in rows(mail_app) if r.event == "reminder"]
    assert [(r.status, r.due_at) for r in reminders] == [
        ("skipped", start - LEAD),
        ("pending", later - LEAD),
    ]
    clock.now = start - LEAD
    deliver(mail_app)
    assert not any("Reminder" in m.message["Subject"] for m in smtp.inbox)
    clock.now = later - LEAD
    smtp.inbox.clear()
    assert deliver(mail_app).sent == 1
    (sent,) = smtp.inbox
    assert sent.to == "patient1@example.com"
    assert sent.message["Subject"].startswith("Reminder: Physiotherapy assessment")
    assert "Thursday, March 11, 2027, 1:00 p.m. (Pacific time)" in sent.text()
    assert sent.calendar_part() is None  # the invite already in the calendar stays the event
    assert "https://clinic.test/manage/" in sent.text()


def test_no_reminder_for_a_cancelled_visit_even_if_already_queued(clinic, mail_app, smtp, clock):
    from test_invites import cancel

    appointment = book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    cancel(mail_app, appointment)
    clock.now = local(NEXT_TUESDAY, 8)
    deliver(mail_app)
    assert not any("Reminder" in m.message["Subject"] for m in smtp.inbox)
    assert [r.status for r in rows(mail_app) if r.event == "reminder"] == ["skipped"]


def test_a_reminder_checks_the_appointment_again_when_it_is_sent(clinic, mail_app, smtp, clock):
    appointment = book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    with mail_app.app_context():  # a change that bypassed the services must not be reminded
        from booking.models import Appointment

        db.session.get(Appointment, appointment).status = "cancelled"
        db.session.commit()
    clock.now = local(NEXT_TUESDAY, 8)
    report = deliver(mail_app)
    assert report.skipped == 1
    assert not any("Reminder" in m.message["Subject"] for m in smtp.inbox)


def test_booked_inside_the_lead_time_there_is_no_separate_reminder(clinic, mail_app, clock):
    tomorrow = local(MONDAY + timedelta(days=1), 9)  # 25 hours away; the lead time is 48
    clock.now = tomorrow - timedelta(hours=13)
    book(mail_app, tomorrow, service="physio", therapist_id=clinic.maya)
    assert not [r for r in rows(mail_app) if r.event == "reminder"]


def test_changing_the_lead_time_moves_queued_reminders(clinic, mail_app, clock):
    start = local(NEXT_TUESDAY, 9)
    book(mail_app, start, service="physio", therapist_id=clinic.maya)
    runner = mail_app.test_cli_runner()
    assert runner.invoke(args=["clinic", "set", "reminder_lead_minutes", "4320"]).exit_code == 0
    (reminder,) = [r for r in rows(mail_app) if r.event == "reminder"]
    assert reminder.due_at == start - timedelta(days=3)
    runner.invoke(args=["clinic", "set", "reminder_lead_minutes", "0"])
    (reminder,) = [r for r in rows(mail_app) if r.event == "reminder"]
    assert reminder.status == Delivery.SKIPPED
    book(mail_app, local(NEXT_TUESDAY, 13), service="physio", n=2, therapist_id=clinic.maya)
    assert len([r for r in rows(mail_app) if r.event == "reminder"]) == 1


def test_a_worker_that_lost_its_lease_does_not_send(clinic, mail_app, smtp, clock):
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    with mail_app.app_context():
        first = outbox.claim("slow-worker", clock.now, limit=1)
        clock.advance(minutes=11)  # its lease ran out while its server was slow
        assert outbox.claim("other-worker", clock.now, limit=1) == first
        assert not outbox.renew(first[0], "slow-worker", clock.now)  # so it must not send
        assert outbox.renew(first[0], "other-worker", clock.now)


def test_a_reminder_is_not_sent_once_the_visit_has_begun(clinic, mail_app, smtp, clock):
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    deliver(mail_app)
    smtp.inbox.clear()
    clock.now = local(NEXT_TUESDAY, 9, 5)  # the worker was down until after the start
    assert deliver(mail_app).skipped == 1
    assert not smtp.inbox
