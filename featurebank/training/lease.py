"""Who is running a training-set job, and until when: a lease its owner keeps renewing.

A job is built by the thread pool of the replica that accepted it. If that process dies (kill
-9, OOM, a restart) nothing on disk changes by itself, so the record would say `running`
forever. Instead the owner holds `lease.json` next to the record — `{"owner", "expires_at"}` —
and a heartbeat thread pushes `expires_at` forward every `lease_s / 5` seconds while the job is
queued or running. Any replica that reads an unfinished record whose lease has expired knows the
owner is gone (see `jobs.load`): this works across hosts that share the data directory, unlike
"is that pid alive here". The expiry is written in the owner's wall clock, so replicas' clocks
must agree to well within the lease (NTP is plenty for the 30 s default).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("featurebank.training")
LEASE_FILE = "lease.json"
LEASE_S = 30.0  # long enough that a busy or paused replica is not declared dead by mistake
BEATS_PER_LEASE = 5


@dataclass(frozen=True)
class Lease:
    owner: str
    expires_at: float  # epoch seconds

    def expired(self, now: float) -> bool:
        return now > self.expires_at


def new_owner_id() -> str:
    """Unique per process (and per runner): host and pid for people, a token for uniqueness."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def write_lease(directory: Path, owner: str, lease_s: float) -> None:
    temp = directory / f".{LEASE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    temp.write_text(json.dumps({"owner": owner, "expires_at": time.time() + lease_s}))
    os.replace(temp, directory / LEASE_FILE)


def read_lease(directory: Path) -> Lease | None:
    """The current lease, or None when there is none or it cannot be read."""
    try:
        data = json.loads((directory / LEASE_FILE).read_text())
        return Lease(owner=str(data["owner"]), expires_at=float(data["expires_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Heartbeat:
    """A daemon thread renewing the leases of the jobs this process holds."""

    def __init__(self, owner: str | None = None, lease_s: float | None = None) -> None:
        self.owner = owner or new_owner_id()
        self.lease_s = LEASE_S if lease_s is None else lease_s
        self._held: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, directory: Path) -> None:
        """Take the lease on `directory` now and keep renewing it until `release`."""
        write_lease(directory, self.owner, self.lease_s)
        with self._lock:
            self._held.add(directory)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="training-set-lease",
                                                daemon=True)
                self._thread.start()

    def release(self, directory: Path) -> None:
        with self._lock:
            self._held.discard(directory)

    def held(self) -> list[Path]:
        with self._lock:
            return sorted(self._held)

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / BEATS_PER_LEASE):
            for directory in self.held():
                try:
                    write_lease(directory, self.owner, self.lease_s)
                except OSError:  # the next beat retries; the lease is several beats long
                    log.warning("could not renew the lease on %s", directory, exc_info=True)
