"""Email: the outbox the booking services write to, the messages, and their delivery.

- `outbox`: rows written in the same transaction as each change; claiming and marking them.
- `compose`: one row as an iMIP email (text, HTML and the invite), per INVITES.md.
- `transport`: SMTP from the `MAIL_*` settings, or `.eml` files when no server is set.
- `delivery`: the worker behind `flask outbox deliver [--loop]`.
"""
