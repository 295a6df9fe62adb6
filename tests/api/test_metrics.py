"""`/metrics`: Prometheus names and the standard process/platform collectors."""

from __future__ import annotations

from typing import Any


async def test_metrics_follow_prometheus_naming_and_include_process_figures(client: Any) -> None:
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert "motcua_http_request_duration_seconds" in names
    assert "motcua_http_request_seconds" not in names  # the old name, without "duration"
    assert 'motcua_http_request_duration_seconds_bucket{le="0.001",route="/healthz"}' in text
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "python_info"} <= names
