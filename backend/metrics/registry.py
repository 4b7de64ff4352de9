"""This process's metrics in a Prometheus registry of its own.

Read at scrape time from what the process already counts: the location pipeline's
counters (fixes received, accepted, stored, rejected by reason, and its failure
counters), the live sockets by audience, and the optimiser's solve times. Queue depths
come from the database: :meth:`Metrics.set_queues` just before each scrape. Several
workers each report their own figures; Prometheus sums them.
"""

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The pipeline's counters of fixes by outcome ("fixes_received"...); the rest count
# rejections by reason ("rejected_zero"...), history writes, failures and drops.
FIXES = "fixes_"
REJECTED = "rejected_"
MQTT_DROPPED = "mqtt_dropped_"  # MQTT messages dropped, by reason (backend.mqtt.drops)
SOLVE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class _Live(Collector):
    """Figures read at each scrape from the objects that keep them."""

    def __init__(
        self,
        counters: Callable[[], Mapping[str, int]],
        sockets: Callable[[], Mapping[str, int]],
    ) -> None:
        self._counters = counters
        self._sockets = sockets

    def collect(self) -> Iterator[Metric]:
        counts = self._counters()
        fixes = CounterMetricFamily(
            "lastmile_fixes", "Location fixes by what became of them", labels=["outcome"]
        )
        rejected = CounterMetricFamily(
            "lastmile_fixes_rejected", "Location fixes refused, by reason", labels=["reason"]
        )
        mqtt_dropped = CounterMetricFamily(
            "lastmile_mqtt_dropped",
            "MQTT messages dropped by the ingest, by reason (backend.mqtt.drops)",
            labels=["reason"],
        )
        pipeline = CounterMetricFamily(
            "lastmile_pipeline_events",
            "Other counts of the location pipeline (history writes, failures, drops)",
            labels=["name"],
        )
        for name, value in counts.items():
            if name.startswith(FIXES):
                fixes.add_metric([name.removeprefix(FIXES)], value)
            elif name.startswith(REJECTED):
                rejected.add_metric([name.removeprefix(REJECTED)], value)
            elif name.startswith(MQTT_DROPPED):
                mqtt_dropped.add_metric([name.removeprefix(MQTT_DROPPED)], value)
            else:
                pipeline.add_metric([name], value)
        yield from (fixes, rejected, mqtt_dropped, pipeline)
        sockets = GaugeMetricFamily(
            "lastmile_sockets", "Open live sockets, by who is listening", labels=["audience"]
        )
        for audience, count in sorted(self._sockets().items()):
            sockets.add_metric([audience], count)
        yield sockets


class Metrics:
    """The metrics of one backend process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.solve_seconds = Histogram(
            "lastmile_solver_seconds",
            "How long planning jobs took, by how they ended",
            ["status"],
            buckets=SOLVE_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "lastmile_queue_depth",
            "Rows waiting to be sent, by outbox",
            ["queue"],
            registry=self.registry,
        )
        self.queue_failed = Gauge(
            "lastmile_queue_failed",
            "Rows given up on (refused for good or out of retries), by outbox",
            ["queue"],
            registry=self.registry,
        )

    def watch(
        self,
        counters: Callable[[], Mapping[str, int]],
        sockets: Callable[[], Mapping[str, int]],
    ) -> None:
        """Read the pipeline's counters and the socket counts at each scrape."""
        self.registry.register(_Live(counters, sockets))

    def solved(self, seconds: float, status: str) -> None:
        self.solve_seconds.labels(status=status).observe(seconds)

    def set_queues(self, pending: Mapping[str, int], failed: Mapping[str, int]) -> None:
        for queue, count in pending.items():
            self.queue_depth.labels(queue=queue).set(count)
        for queue, count in failed.items():
            self.queue_failed.labels(queue=queue).set(count)

    def render(self) -> bytes:
        """The text exposition format, version 0.0.4."""
        return generate_latest(self.registry)
