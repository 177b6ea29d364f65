"""A dead letter the broker refuses is not confirmed by `flush()`, and is sent again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotEnoughReplicasError
from kafka.future import Future

from streaming.core import Reject
from streaming.sinks.dlq import DeadLetterSink, DeadLettersUnconfirmed


class RefusingProducer:
    """Acknowledges a record unless its value is in `refuse` (then its future fails)."""

    def __init__(self, refuse: set[bytes], refuse_at_send: set[bytes] | None = None) -> None:
        self.refuse = refuse
        self.refuse_at_send = refuse_at_send or set()
        self.sent: list[bytes] = []
        self._futures: list[tuple[Future, bytes]] = []

    def send(self, topic: str, *, key: bytes | None, value: bytes,
             headers: list[tuple[str, bytes]]) -> Future:
        if value in self.refuse_at_send:
            raise MessageSizeTooLargeError("too large")
        future = Future()
        self._futures.append((future, value))
        return future

    def flush(self, timeout: float | None = None) -> None:
        """Completes every record, as kafka-python's flush does: failures stay in futures."""
        for future, value in self._futures:
            if value in self.refuse:
                future.failure(NotEnoughReplicasError("refused"))
            else:
                future.success(None)
                self.sent.append(value)
        self._futures.clear()


def _reject(offset: int) -> Reject:
    message = SimpleNamespace(topic="orders", partition=0, offset=offset, key=None,
                              value=b"m%d" % offset, headers=[])
    return Reject(message, "invalid_json", "not JSON")


def test_a_refused_dead_letter_fails_the_flush_and_is_sent_again() -> None:
    producer = RefusingProducer(refuse={b"m2"})
    sink = DeadLetterSink(producer)
    sink.send([_reject(1), _reject(2), _reject(3)])
    with pytest.raises(DeadLettersUnconfirmed, match=r"orders\[0\]@2.*NotEnoughReplicasError"):
        sink.flush()
    assert producer.sent == [b"m1", b"m3"]
    with pytest.raises(DeadLettersUnconfirmed):  # still refused: still unconfirmed
        sink.flush()
    producer.refuse.clear()
    sink.flush()  # only the refused one goes again
    assert producer.sent == [b"m1", b"m3", b"m2"]
    sink.flush()  # nothing left
    assert producer.sent == [b"m1", b"m3", b"m2"]


def test_a_send_refused_before_sending_is_retried_by_the_flush() -> None:
    producer = RefusingProducer(refuse=set(), refuse_at_send={b"m5"})
    sink = DeadLetterSink(producer)
    sink.send([_reject(5), _reject(6)])
    with pytest.raises(DeadLettersUnconfirmed, match="MessageSizeTooLargeError"):
        sink.flush()
    producer.refuse_at_send.clear()
    sink.flush()
    assert producer.sent == [b"m6", b"m5"]


def test_an_unanswered_dead_letter_is_not_confirmed() -> None:
    class Silent(RefusingProducer):
        def flush(self, timeout: float | None = None) -> None:
            raise KafkaTimeoutError("Timeout after waiting for 30 secs.")

    producer: Any = Silent(refuse=set())
    sink = DeadLetterSink(producer)
    sink.send([_reject(7)])
    with pytest.raises(DeadLettersUnconfirmed, match="no acknowledgement"):
        sink.flush()
