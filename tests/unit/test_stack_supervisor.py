"""The stop-signal latch of `up`: one stop, never while a child is being registered."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from featurebank.stack.supervisor import StopRequested, StopSignals


@pytest.fixture
def signals() -> Iterator[StopSignals]:
    latch = StopSignals()
    latch.install()
    yield latch
    latch.restore()


def test_a_signal_while_held_is_raised_when_the_hold_ends(signals: StopSignals) -> None:
    registered = []
    with pytest.raises(StopRequested) as caught, signals.held():  # noqa: PT012
        os.kill(os.getpid(), signal.SIGHUP)
        registered.append("child")  # runs: the stop waits for the registration
    assert registered == ["child"]
    assert caught.value.signum == signal.SIGHUP


def test_only_the_first_signal_raises(signals: StopSignals) -> None:
    with pytest.raises(StopRequested):
        os.kill(os.getpid(), signal.SIGPIPE)
    os.kill(os.getpid(), signal.SIGTERM)  # while stopping: remembered, not raised
    assert signals.received == signal.SIGPIPE


def test_restore_puts_back_the_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGPIPE)
    latch = StopSignals()
    latch.install()
    latch.restore()
    assert signal.getsignal(signal.SIGPIPE) == before
