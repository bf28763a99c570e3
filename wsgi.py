"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from booking import create_app

app = create_app()
# What start-up built lives as long as the process: keep the cyclic garbage collector from
# rescanning it on every full collection (those pauses were the p99 of large responses).
gc.freeze()
