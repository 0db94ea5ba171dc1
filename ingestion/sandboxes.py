"""The stand-in sources a run uses when LOG_API_URL or ORDERS_DB_URL is not set, chosen at the edge: the
command line and Dagster hand the loader settings whose URLs are set, the sandbox's where the user's are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from ingestion.progress import say
from sandbox import log_api as log_api_sandbox
from sandbox import orders_db as orders_sandbox
from settings import SANDBOX_FERNET_KEY, Settings


@contextmanager
def sources_or_sandboxes(settings: Settings, sources: Iterable[str]) -> Iterator[Settings]:
    """`settings`, with a sandbox's URL for each of `sources` whose own is not set: the log API served for
    the block (its records encrypted with the sandbox's key), the SQLite shop moved on by one step.
    """
    sources = set(sources)
    with ExitStack() as stack:
        if "logs" in sources and not settings.log_api_url:
            url = stack.enter_context(embedded_log_api(settings))
            settings = replace(settings, log_api_url=url, fernet_key=settings.fernet_key or SANDBOX_FERNET_KEY)
        if "orders" in sources and not settings.orders_db_url:
            settings = replace(settings, orders_db_url=embedded_orders_db(settings))
        yield settings


@contextmanager
def embedded_log_api(settings: Settings) -> Iterator[str]:
    sandbox = log_api_sandbox.LogApiSandbox(
        clock_file=settings.sandbox_dir / "log_api_clock.json",
        advance_per_poll=timedelta(minutes=1),
    )
    with log_api_sandbox.serving(sandbox) as url:
        say("logs: LOG_API_URL is not set, serving the sandbox log API for this run")
        yield url


def embedded_orders_db(settings: Settings) -> str:
    """The sandbox shop: seeded on first use, moved on by one step on every later run."""
    settings.sandbox_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{settings.sandbox_dir / 'shop.sqlite'}"
    engine = sa.create_engine(url)
    try:
        if not orders_sandbox.seed(engine, settings.orders_table):
            orders_sandbox.advance(engine, settings.orders_table)
    finally:
        engine.dispose()
    say("orders: ORDERS_DB_URL is not set, using the sandbox SQLite shop (it advances on every run)")
    return url
