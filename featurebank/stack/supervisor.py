"""Run a set of child processes until a stop signal or a child's death, then stop them all.

Children run in their own sessions (see `Children`), so the terminal's Ctrl-C, a closed
terminal or a dead reader of our output reaches only this process: the first SIGINT, SIGTERM,
SIGHUP or SIGPIPE raises `StopRequested` wherever start-up is (a slow `apply`, a wait for a
port), and the stop code below runs whatever happened, before anything else is printed. A
signal that arrives while a child is being started and registered is held until it is
registered, so no child can be started without being stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from featurebank.stack.processes import Children

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)

Say = Callable[[str], None]


class StopRequested(BaseException):
    """A stop signal arrived; a BaseException so that no broad `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """Turns the first stop signal into `StopRequested`; later ones are only remembered."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._armed = False
        self._held = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        self._armed = True

    def disarm(self) -> None:
        """From here on (stopping) a signal raises nothing: the stop must run to its end."""
        self._armed = False

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Defer a stop until the block (start a child, register it) is done."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        self._raise_if_requested()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        self._raise_if_requested()

    def _raise_if_requested(self) -> None:
        if self.received is not None and self._armed and self._held == 0:
            self._armed = False
            raise StopRequested(self.received)


def supervise(children: Children, start: Callable[[], None], say: Say) -> int:
    """Run `start` (which starts the children), then watch them until a stop signal.

    Returns 0 after a stop signal, 1 when a child died; errors raised by `start` propagate,
    after every child started so far has been stopped. (A child run to its end, such as
    `materialize`, leaves `children.running` when it is done.)
    """
    signals = StopSignals()
    children.hold = signals.held
    try:
        signals.install()
        start()
        while True:
            dead = children.exited()
            if dead:
                name, code = dead[0]
                _quietly(say, f"{name} exited with code {code}; see {children.log_path(name)}")
                return 1
            time.sleep(0.2)
    except StopRequested:
        return 0
    finally:
        # Not contextlib.suppress: a signal could land in its constructor, outside the guard.
        try:  # noqa: SIM105
            signals.disarm()
        except StopRequested:  # landed just before disarm(); the handler disarmed itself
            pass
        _quietly(say, "stopping everything `up` started…")
        children.stop_all()
        signals.restore()


def _quietly(say: Say, line: str) -> None:
    """Print, but never let a closed terminal or pipe keep the children running."""
    with contextlib.suppress(OSError, ValueError):
        say(line)


def print_line(line: str) -> None:
    """One line to stdout as is: no wrapping (a printed curl stays whole when piped), no markup.

    A closed pipe (`up | tee log` after Ctrl-C) points stdout at /dev/null, so the exit flush
    cannot fail; the SIGPIPE it raises is what stops the stack.
    """
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
