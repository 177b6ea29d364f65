"""The dead-letter sink: a refused message, unchanged, to `<topic>.dlq` with why and whence.

Headers added (the original ones are kept, before them):
`fb-error-code` (a reason from `streaming.errors`), `fb-error-message`, `fb-origin-topic`,
`fb-origin-partition`, `fb-origin-offset`. `flush()` must succeed before the batch's offsets are
committed, so a dead letter is never lost (it may repeat after a crash: at least once).
"""

from __future__ import annotations

from kafka import KafkaProducer

from streaming.core import Reject

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


class DeadLetterSink:
    def __init__(self, producer: KafkaProducer, flush_timeout_s: float = 30.0) -> None:
        self._producer = producer
        self._timeout = flush_timeout_s
        self._pending = 0

    def send(self, rejects: list[Reject]) -> None:
        for reject in rejects:
            message = reject.message
            self._producer.send(f"{message.topic}.dlq", key=message.key, value=message.value,
                                headers=dlq_headers(reject))
            self._pending += 1

    def flush(self) -> None:
        """Block until every dead letter sent so far is acknowledged (raises on failure)."""
        if self._pending:
            self._producer.flush(timeout=self._timeout)
            self._pending = 0

    def close(self) -> None:
        self._producer.close(timeout=5)
