"""`featurebank stream` (the processor) and `featurebank produce-demo` (live demo events)."""

from __future__ import annotations

import gc
import math
import signal
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer

from featurebank.cli.common import console, friendly_errors, load_settings


class _StopLatch:
    """Remembers a stop signal until the thing to stop exists, then forwards it."""

    def __init__(self) -> None:
        self.requested = False
        self._stop: Callable[[], None] | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self._stop is not None:
            self._stop()

    def attach(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        if self.requested:
            stop()


def stream(
    metrics_port: Annotated[int, typer.Option(help="Prometheus port (0 = off)")] = 9108,
    max_message_bytes: Annotated[int, typer.Option(min=64, help="larger messages are refused")]
    = 1024 * 1024,
    max_poll_records: Annotated[int, typer.Option(min=1, help="messages per poll")] = 5000,
    session_timeout_ms: Annotated[int, typer.Option(min=1000, help="consumer group session")]
    = 6000,
    heartbeat_interval_ms: Annotated[int, typer.Option(min=100, help="group heartbeat")] = 1000,
    offline_flush_s: Annotated[float, typer.Option(
        min=0.0, help="write a partition's buffered history after this many seconds "
                      "(0 = every poll); offsets are committed only once written")] = 10.0,
    offline_flush_rows: Annotated[int, typer.Option(
        min=1, help="write a partition's buffered history once it holds this many rows "
                    "(bounds the buffer's memory)")] = 100_000,
) -> None:
    """Consume every KafkaSource of the applied registry into Redis and the offline history."""
    # Handlers go in before the slow start (imports, registry, broker connections): a SIGTERM
    # that arrives while starting is a clean stop with nothing consumed, exit status 0.
    latch = _StopLatch()
    signal.signal(signal.SIGTERM, latch.on_signal)
    signal.signal(signal.SIGINT, latch.on_signal)
    from streaming.processor import ProcessorOptions, StreamProcessor

    settings = load_settings()
    options = ProcessorOptions(
        max_message_bytes=max_message_bytes, max_poll_records=max_poll_records,
        session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
        metrics_port=metrics_port, offline_flush_s=offline_flush_s,
        offline_flush_rows=offline_flush_rows)
    with friendly_errors():
        processor = StreamProcessor(settings, options)
        latch.attach(processor.stop)
        gc.collect()  # Feast's long-lived objects: out of the cyclic GC's way (as in the API)
        gc.freeze()
        console.print(f"stream processor in group {settings.consumer_group!r} "
                      f"on {settings.kafka_bootstrap_servers}")
        try:
            code = processor.run()
        finally:
            gc.unfreeze()
    raise typer.Exit(code)


MIN_RATE = 0.1
MAX_RATE = 100_000.0


def _finite_rate(value: float) -> float:
    # click's FloatRange lets nan through (every comparison with it is false).
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of events per second")
    return value


def produce_demo(
    rate: Annotated[float, typer.Option(callback=_finite_rate, min=MIN_RATE, max=MAX_RATE,
                                        help="events per second, all topics")] = 20.0,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many events")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
) -> None:
    """Send plausible live events to every KafkaSource's topic until stopped."""
    from featurebank.definitions import load_definitions
    from featurebank.feast_repo import open_store
    from streaming.consumer import make_producer
    from streaming.plan import build_plan
    from streaming.producer import run_producer

    settings = load_settings()
    stop = {"now": False}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with friendly_errors():
        plan = build_plan(load_definitions(open_store(settings)), settings.max_event_skew_s)
        if not plan.topics:
            console.print("no stream feature view reads a KafkaSource; nothing to produce")
            raise typer.Exit(0)
        producer = make_producer(settings.kafka_bootstrap_servers, client_id="featurebank-demo")
        console.print(f"producing ~{rate:g} events/s to {', '.join(plan.topic_names())}")

        def send(topic: str, key: bytes, value: bytes) -> None:
            producer.send(topic, key=key, value=value)

        try:
            sent = run_producer(send, plan, rate, limit=count, should_stop=lambda: stop["now"],
                                seed=seed)
        finally:
            producer.flush(timeout=10)
            producer.close(timeout=5)
        console.print(f"sent {sent} events")


def register_commands(app: typer.Typer) -> None:
    app.command()(stream)
    app.command(name="produce-demo")(produce_demo)
