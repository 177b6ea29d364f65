"""A private Tansu broker and stream processors in threads, for the tests that stream.

The streaming tests' session broker, the broker-restart test's broker per run and the
monitoring end-to-end test's module broker all start and stop it the same way; processors run
in a thread of the test process so a test can read their metrics and stop them.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from featurebank.settings import Settings
from featurebank.stack.broker import start_broker
from streaming.processor import ProcessorOptions, StreamProcessor
from tests.support.services import free_port, wait_for_port


@contextmanager
def private_broker(workdir: Path, port: int | None = None) -> Iterator[str]:
    """An in-memory Tansu broker keeping its files in `workdir`; yields its bootstrap address.

    Pass the `port` of an earlier broker to restart "the same" broker (its topics are gone).
    """
    port = free_port() if port is None else port
    process = start_broker(port=port, data_dir=workdir, log_path=workdir / "broker.log")
    try:
        wait_for_port(port, timeout=20)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def start_processor_thread(settings: Settings, options: ProcessorOptions
                           ) -> tuple[StreamProcessor, threading.Thread]:
    """A processor running in a daemon thread of this test process (see `stop_processors`)."""
    processor = StreamProcessor(settings, options)
    thread = threading.Thread(target=processor.run, name="processor", daemon=True)
    thread.start()
    return processor, thread


def stop_processors(running: list[tuple[StreamProcessor, threading.Thread]]) -> None:
    """Ask every processor to stop, then wait for each (they finish their batches in parallel)."""
    for processor, _ in running:
        processor.stop()
    for _, thread in running:
        thread.join(timeout=20)


@contextmanager
def processor_running(settings: Settings, options: ProcessorOptions
                      ) -> Iterator[StreamProcessor]:
    """A processor in a thread for the `with` block, stopped (and awaited) at its end."""
    running = start_processor_thread(settings, options)
    try:
        yield running[0]
    finally:
        stop_processors([running])
