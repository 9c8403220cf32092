"""Prometheus metrics of a running authority (prometheus-client): what the events tell, what
the HTTP edge measures, and the state of the runtime, sampled.

Every label value comes from a short, fixed list, so the series a Prometheus keeps cannot grow
with traffic: no user, token or address is ever a label; a request is labelled by its route's
name (never its path), its method (``METHODS``, else "other") and its status; a client only
on the tokens issued, and only the first ``CLIENT_LABELS`` of them (``ClientLabels``).

With ``authority serve --workers N`` the workers keep their values in files of the folder
PROMETHEUS_MULTIPROC_DIR names (prometheus-client's multiprocess mode, set up by
``authority.observe.workers``), and whichever worker answers a scrape reports the sum of
all. A worker writes its own state (its pool, its argon2 queue) there every
``SAMPLE_SECONDS``, summed over the workers alive; the key timings are computed at the scrape
by the worker answering, from the keys it has loaded.

Import this module only where metrics are on: prometheus-client picks how it keeps values
when it is first imported, from PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from authority.events import Event, EventType
from authority.keys import KeyRing
from authority.keys.lifecycle import Timings, rotation_due_at
from authority.observe.workers import shared_directory

PREFIX = "authority_"
# Seconds: a token request takes a few milliseconds; a password login (argon2id) tens; a
# request waiting for a stalled database up to AUTHORITY_DATABASE_TIMEOUT (5 s by default).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any token is a method to HTTP; these are the ones a label may hold.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
CLIENT_LABELS = 100
SAMPLE_SECONDS = 1.0
# The text format every Prometheus reads (our names need none of 1.0.0's escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class ClientLabels:
    """The ``client_id`` label of the tokens issued: the client's id for the first
    ``limit`` clients this process issues tokens to, "other" for the rest.

    Each label value is a series Prometheus keeps in memory for as long as it keeps the
    data. Clients are as many as operators (or tooling that creates clients) make: a few in
    most deployments, but nothing bounds them, so past the first ``limit`` they are counted
    together. The bound holds per process: N workers name at most N times ``limit`` clients
    (the same few clients get most tokens, so in practice the same ones)."""

    def __init__(self, limit: int = CLIENT_LABELS) -> None:
        self.limit = limit
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def label(self, client_id: str | None) -> str:
        if client_id is None:
            return OTHER
        if client_id in self._named:
            return client_id
        with self._lock:  # events come from the event loop and from worker threads
            if len(self._named) >= self.limit:
                return OTHER
            self._named.add(client_id)
        return client_id


class KeyTimings:
    """The age of each algorithm's active key and the seconds until its scheduled rotation
    (negative: due, and the next key maintenance performs it), computed when scraped from
    the keys this process has loaded. None scheduled (AUTHORITY_KEY_ROTATION_DAYS=0): no
    rotation series."""

    def __init__(
        self, ring: Callable[[], KeyRing], timings: Timings, clock: Callable[[], float]
    ) -> None:
        self._ring = ring
        self._timings = timings
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        now, ring = self._clock(), self._ring()
        age = GaugeMetricFamily(
            PREFIX + "signing_key_age_seconds",
            "Seconds since the active signing key of each algorithm began signing.",
            labels=["alg"],
        )
        rotation = GaugeMetricFamily(
            PREFIX + "key_next_rotation_seconds",
            "Seconds until the scheduled rotation of each algorithm's signing key.",
            labels=["alg"],
        )
        for alg, times in sorted(ring.times.items()):
            if times.active_since is not None:
                age.add_metric([alg], now - times.active_since)
            due = rotation_due_at(times.active_since, times.next_published, self._timings)
            if due is not None:
                rotation.add_metric([alg], due - now)
        return [age, rotation]


class Metrics:
    """The metrics of one process, and their exposition."""

    content_type = CONTENT_TYPE
    sample_seconds = SAMPLE_SECONDS

    def __init__(
        self,
        pool_in_use: Callable[[], int],
        argon2_queue: Callable[[], int],
        keys: Callable[[], KeyRing],
        timings: Timings,
        clock: Callable[[], float],
        shared: str | None = None,
        client_labels: int = CLIENT_LABELS,
    ) -> None:
        self._pool_in_use = pool_in_use
        self._argon2_queue = argon2_queue
        self.shared = shared if shared is not None else shared_directory()
        self.clients = ClientLabels(client_labels)
        # No ``_created`` series: the multiprocess collector has none, and one worker or
        # several expose the same series.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped there
        # Where the metrics are defined; in one process also what a scrape reads.
        own = self.registry = CollectorRegistry()
        self.requests = Counter(
            PREFIX + "http_requests",
            "HTTP requests answered, by route name, method and status.",
            ["route", "method", "status"],
            registry=own,
        )
        self.latency = Histogram(
            PREFIX + "http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.tokens = Counter(
            PREFIX + "tokens_issued",
            f'Token responses, by grant type and client (after {client_labels} clients, "other").',
            ["grant_type", "client_id"],
            registry=own,
        )
        self.refresh_reuse = Counter(
            PREFIX + "refresh_token_reuse",
            "Used refresh tokens presented again: each revoked its session.",
            registry=own,
        )
        self.login_failures = Counter(
            PREFIX + "login_failures",
            "Failed logins: a wrong password, an unknown or disabled user, an unverified email.",
            registry=own,
        )
        self.login_lockouts = Counter(
            PREFIX + "login_lockouts",
            "Logins refused unchecked because the username or the address was locked out.",
            registry=own,
        )
        self.outages = Counter(
            PREFIX + "outages",
            "Requests answered 503 and failed readiness probes because the database or "
            "Redis did not answer, by kind.",
            ["kind"],
            registry=own,
        )
        self.pool = Gauge(
            PREFIX + "db_pool_connections_in_use",
            "Database connections lent out by the pools (summed over the workers).",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.argon2 = Gauge(
            PREFIX + "argon2_queue_depth",
            "Password checks (argon2id) running or waiting for a thread.",
            registry=own,
            multiprocess_mode="livesum",
        )
        key_timings = KeyTimings(keys, timings, clock)
        if self.shared is None:
            own.register(key_timings)
            self.exposed = own
        else:
            self.exposed = CollectorRegistry()
            MultiProcessCollector(self.exposed, self.shared)  # type: ignore[no-untyped-call]
            self.exposed.register(key_timings)
        # Each label set's series, found once: ``labels()`` takes a lock and builds a key.
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._token_series: dict[tuple[str, str], Counter] = {}
        self._heard: dict[EventType, Callable[[Event], None]] = {
            EventType.TOKEN_ISSUED: self._issued,
            EventType.REFRESH_REUSED: lambda _: self.refresh_reuse.inc(),
            EventType.LOGIN_FAILED: lambda _: self.login_failures.inc(),
            EventType.LOGIN_LOCKED: lambda _: self.login_lockouts.inc(),
        }

    # -- what is counted ---------------------------------------------------------------------

    def hear(self, event: Event) -> None:
        """The listener of ``authority.events``."""
        count = self._heard.get(event.type)
        if count is not None:
            count(event)

    def _issued(self, event: Event) -> None:
        grant = str(event.detail.get("grant_type") or OTHER)
        key = (grant, self.clients.label(event.client_id))
        series = self._token_series.get(key)
        if series is None:
            series = self._token_series[key] = self.tokens.labels(*key)
        series.inc()

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request answered: ``route`` is its route's name (a fixed few)."""
        if method not in METHODS:
            method = OTHER
        key = (route, method, status)
        series = self._request_series.get(key)
        if series is None:
            series = self._request_series[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
        series[0].inc()
        series[1].observe(seconds)

    def outage(self, kind: str) -> None:
        """An outage as ``authority.web.outages`` names it (an error class, a fixed few)."""
        self.outages.labels(kind).inc()

    # -- what is sampled, and the exposition -------------------------------------------------

    def sample(self) -> None:
        """This process's pool and argon2 queue, now. On the event loop (the limiter's)."""
        self.pool.set(self._pool_in_use())
        self.argon2.set(self._argon2_queue())

    def render(self) -> bytes:
        """The text exposition format; reads the workers' files: run it in a thread."""
        return generate_latest(self.exposed)
