"""``flask --app app events worker``: number outbox events and deliver them to webhook endpoints;
``flask --app app events publish``: number them only.

Run one or more workers next to the web processes on PostgreSQL (claims use ``FOR UPDATE SKIP
LOCKED``); on SQLite run a single worker. SIGTERM or Ctrl-C stops it between deliveries; a
worker killed mid-delivery leaves a lease that expires, and the delivery is sent again.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from flask.cli import AppGroup

from fluid_scim.cli.common import act_as_operator, settings, store
from fluid_scim.extensions import db
from fluid_scim.services import outbox, transaction, webhooks

log = logging.getLogger(__name__)


@click.group(cls=AppGroup)
def events() -> None:
    """Outbound provisioning events: the webhook delivery worker."""
    act_as_operator()


@events.command("publish")
def publish() -> None:
    """Number every event committed and not numbered yet (the worker and the feed do this on their own)."""
    total = 0
    while count := outbox.publish():  # each call is bounded; stops once nothing is pending
        total += count
    click.echo(f"published {total} event(s)", err=True)


@events.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--poll-interval", type=click.FloatRange(0.05, 300), default=1.0, show_default=True, help="Seconds between polls when idle."
)
def worker(once: bool, poll_interval: float) -> None:
    """Fan new events out to the webhook endpoints and deliver them (retries, back-off, dead letter)."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, request_stop)
    config, secrets = settings(), store()
    click.echo(f"events worker started (poll every {poll_interval}s)", err=True)
    try:
        while not stop.is_set():
            try:
                result = webhooks.run_once(config, secrets)
            except Exception:
                transaction.rollback()
                log.exception("events worker pass failed; retrying after the poll interval")
                result = webhooks.PassResult()
            if result.attempted or result.dispatched:
                log.info(
                    "events worker pass",
                    extra={"dispatched": result.dispatched, "delivered": result.delivered, "failed": result.failed,
                           "dead": result.dead},
                )
            if once:
                click.echo(
                    f"dispatched {result.dispatched}, delivered {result.delivered}, failed {result.failed}, dead {result.dead}",
                    err=True,
                )
                break
            stop.wait(poll_interval)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        db.session.remove()
