"""Prometheus metrics, one registry per application (no module-level globals).

Besides the service's own metrics the registry carries the standard process, platform and GC collectors
(`process_*`: CPU, memory, open file descriptors; `python_info`; `python_gc_*`). Each replica has its own
figures: scrape every replica directly (docs/deployment.md), not through the load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


@dataclass(frozen=True)
class Metrics:
    http_requests: Counter
    http_latency: Histogram
    webhook_updates: Counter
    handled_messages: Counter
    outbox_sent: Counter
    outbox_failed: Counter
    outbox_rows: Gauge
    inbox_rows: Gauge
    dossiers_created: Counter
    dossier_changes: Counter
    job_runs: Counter
    outbox_deferred: Counter


def create_metrics(registry: CollectorRegistry) -> Metrics:
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return Metrics(
        http_requests=Counter(
            "motcua_http_requests",
            "HTTP requests by route and status (499: the client closed the connection first)",
            ["route", "status"],
            registry=registry,
        ),
        http_latency=Histogram(
            "motcua_http_request_duration_seconds",
            "HTTP request duration (Prometheus naming: a unit-suffixed duration)",
            ["route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        ),
        webhook_updates=Counter(
            "motcua_webhook_updates",
            "Webhook updates by channel and outcome",
            ["channel", "outcome"],
            registry=registry,
        ),
        handled_messages=Counter(
            "motcua_handled_messages", "Incoming messages handled, by channel", ["channel"], registry=registry
        ),
        outbox_sent=Counter("motcua_outbox_sent", "Outgoing messages sent", ["channel"], registry=registry),
        outbox_failed=Counter(
            "motcua_outbox_failed",
            "Outgoing messages that failed for good",
            ["channel", "reason"],
            registry=registry,
        ),
        outbox_rows=Gauge("motcua_outbox_messages", "Outbox rows by status", ["status"], registry=registry),
        inbox_rows=Gauge("motcua_inbox_updates", "Inbox rows by status", ["status"], registry=registry),
        dossiers_created=Counter("motcua_dossiers_created", "Dossiers created", ["channel"], registry=registry),
        dossier_changes=Counter(
            "motcua_dossier_status_changes", "Dossier status changes", ["status"], registry=registry
        ),
        job_runs=Counter("motcua_job_runs", "Scheduled job runs", ["job", "outcome"], registry=registry),
        outbox_deferred=Counter(
            "motcua_outbox_deferred",
            "Outgoing messages the platform put off to a later day or hour (quota used up, sending hours)",
            ["channel", "reason"],
            registry=registry,
        ),
    )
