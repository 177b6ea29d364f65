"""The dead-letter sink: a refused message, unchanged, to `<topic>.dlq` with why and whence.

Headers added (the original ones are kept, before them):
`fb-error-code` (a reason from `streaming.errors`), `fb-error-message`, `fb-origin-topic`,
`fb-origin-partition`, `fb-origin-offset`. `flush()` must succeed before the batch's offsets are
committed, so a dead letter is never lost (it may repeat after a crash: at least once).

kafka-python's `flush()` only waits: a record the broker refused (or that timed out) fails its
own future and `flush()` still returns. So the sink keeps every send's future, checks them after
the flush, and raises `DeadLettersUnconfirmed` while any is not acknowledged; the next `flush()`
sends those again. The processor retries the flush (with backoff, consumption paused) and
commits nothing meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from featurebank.errors import DependencyUnavailable
from streaming.core import Reject

log = logging.getLogger("featurebank.stream")

HEADER_CODE = "fb-error-code"
HEADER_MESSAGE = "fb-error-message"
HEADER_TOPIC = "fb-origin-topic"
HEADER_PARTITION = "fb-origin-partition"
HEADER_OFFSET = "fb-origin-offset"


def dlq_headers(reject: Reject) -> list[tuple[str, bytes]]:
    message = reject.message
    return [
        *list(message.headers or []),
        (HEADER_CODE, reject.reason.encode()),
        (HEADER_MESSAGE, reject.text.encode("utf-8", "replace")[:1000]),
        (HEADER_TOPIC, message.topic.encode()),
        (HEADER_PARTITION, str(message.partition).encode()),
        (HEADER_OFFSET, str(message.offset).encode()),
    ]


class DeadLettersUnconfirmed(DependencyUnavailable):
    """Some dead letters were not acknowledged by the broker; they are sent again."""


class DeadLetterSink:
    def __init__(self, producer: KafkaProducer, flush_timeout_s: float = 30.0) -> None:
        self._producer = producer
        self._timeout = flush_timeout_s
        self._pending: list[tuple[Reject, Any]] = []  # kafka-python's FutureRecordMetadata
        self._failed: list[tuple[Reject, str]] = []

    def send(self, rejects: list[Reject]) -> None:
        """Hand the dead letters to the producer; failures surface in `flush()`."""
        for reject in rejects:
            message = reject.message
            try:
                future = self._producer.send(f"{message.topic}.dlq", key=message.key,
                                             value=message.value, headers=dlq_headers(reject))
            except KafkaError as exc:  # refused before sending (too large, no metadata, ...)
                self._failed.append((reject, _describe(exc)))
                continue
            self._pending.append((reject, future))

    def flush(self) -> None:
        """Block until every dead letter sent so far is acknowledged.

        Raises `DeadLettersUnconfirmed` naming the first failure when any is not; those are
        sent again by the next call (so a retry of the flush alone is enough).
        """
        if self._failed:
            retry, self._failed = self._failed, []
            self.send([reject for reject, _ in retry])
        if self._pending:
            try:
                self._producer.flush(timeout=self._timeout)
            except KafkaError as exc:  # timed out: the futures decide below
                log.warning("dead-letter flush did not finish (%s)", _describe(exc))
            pending, self._pending = self._pending, []
            for reject, future in pending:
                if not future.is_done:
                    self._pending.append((reject, future))  # may still be acknowledged
                elif future.failed():
                    self._failed.append((reject, _describe(future.exception)))
        if self._failed or self._pending:
            unconfirmed = [reject for reject, _ in self._failed]
            unconfirmed += [reject for reject, _ in self._pending]
            first = unconfirmed[0].message
            reason = self._failed[0][1] if self._failed else "no acknowledgement yet"
            raise DeadLettersUnconfirmed(
                f"{len(unconfirmed)} dead letter(s) not acknowledged, first "
                f"{first.topic}[{first.partition}]@{first.offset} to {first.topic}.dlq: {reason}",
                detail={"unconfirmed": len(unconfirmed)})

    def close(self) -> None:
        self._producer.close(timeout=5)


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "unknown error"
