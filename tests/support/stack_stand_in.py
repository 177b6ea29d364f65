"""A light `featurebank up` for signal tests: the same supervisor, children and broker start-up.

It starts what `up` starts that holds a port (redis-server, the Tansu broker) and, instead of
the API, a shell whose HTTP server is a grandchild (stops must reach a child's whole process
group). It prints the pids and ports, then `up`'s "Press Ctrl-C" line, and waits like `up`.

    python -m tests.support.stack_stand_in DATA_DIR
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from featurebank.stack.broker import start_broker
from featurebank.stack.processes import Children, free_port, wait_for_port
from featurebank.stack.supervisor import print_line, supervise


def main(data_dir: Path) -> int:
    children = Children(data_dir / "logs")

    def start() -> None:
        ports: dict[str, int] = {name: free_port() for name in ("redis", "broker", "api")}
        redis_server = shutil.which("redis-server") or "redis-server"
        children.start("redis", [redis_server, "--port", str(ports["redis"]), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", str(data_dir)], env={})
        children.add("broker", lambda: start_broker(ports["broker"], data_dir / "broker",
                                                    children.log_path("broker")))
        server = f"{sys.executable} -m http.server {ports['api']} --bind 127.0.0.1"
        children.start("api", ["/bin/sh", "-c", f"{server} & wait"], env=dict(os.environ))
        for name, port in ports.items():
            if not wait_for_port("127.0.0.1", port, 30):
                raise RuntimeError(f"{name} did not listen on {port}")
        print_line("ports " + " ".join(str(p) for p in ports.values()))
        print_line("pids " + " ".join(str(p.pid) for _, p in children.running))
        print_line("Press Ctrl-C to stop everything started here.")

    return supervise(children, start, print_line)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
