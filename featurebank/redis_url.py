"""`REDIS_URL`, checked once and translated into Feast's Redis `connection_string`.

Our own clients open the URL with redis-py (`redis://`, `rediss://` and `unix://`), but Feast
builds its client from `host:port,key=value,…` and always passes a host and port, so a socket
has to travel as `unix_socket_path=…` (redis-py then ignores the host and port). The checks run
at settings time so that a bad URL is one message naming `REDIS_URL` and the bad part, instead
of a traceback from whichever component first opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class RedisTarget:
    """What a `REDIS_URL` points at: a TCP host and port, or a Unix socket path."""

    scheme: str
    host: str
    port: int
    socket_path: str | None
    db: int | None
    username: str | None
    password: str | None


def parse_redis_url(url: str) -> RedisTarget:
    """The parts of `url`; a ValueError names `REDIS_URL` and the part that is wrong.

    Messages quote only the wrong part, never the whole URL: it may hold a password.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        got = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ValueError("REDIS_URL must start with redis://, rediss:// or unix:// "
                         f"(e.g. redis://127.0.0.1:6379/0), got {got}")
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ValueError(f"REDIS_URL port must be a number from 1 to 65535, got {port_text!r}"
                         ) from None
    if port == 0:
        raise ValueError("REDIS_URL port must be a number from 1 to 65535, got '0'")
    query = parse_qs(parts.query, keep_blank_values=True)
    socket_path = None
    db_text: str | None = None
    if parts.scheme == "unix":
        if parts.hostname:
            raise ValueError(f"REDIS_URL unix:// takes a socket path, not a host "
                             f"(unix:///run/redis.sock?db=0), got host {parts.hostname!r}")
        socket_path = unquote(parts.path)
        if not socket_path.startswith("/"):
            raise ValueError(f"REDIS_URL unix:// needs an absolute socket path "
                             f"(unix:///run/redis.sock?db=0), got {socket_path!r}")
        if "," in socket_path:
            raise ValueError(f"REDIS_URL socket path must not contain ',' (Feast's connection "
                             f"string cannot carry it), got {socket_path!r}")
    elif parts.path.strip("/"):
        db_text = unquote(parts.path).strip("/")
    if "db" in query:
        db_text = query["db"][-1]
    db = None
    if db_text is not None:
        if not (db_text.isascii() and db_text.isdigit()):
            raise ValueError(f"REDIS_URL database must be a whole number, got {db_text!r}")
        db = int(db_text)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    for name, value in (("user name", username), ("password", password)):
        if value is not None and "," in value:
            raise ValueError(f"REDIS_URL {name} must not contain ',' (Feast's connection "
                             "string cannot carry it)")
    return RedisTarget(scheme=parts.scheme, host=parts.hostname or "127.0.0.1",
                       port=port or 6379, socket_path=socket_path, db=db, username=username,
                       password=password)


def feast_connection_string(url: str) -> str:
    """Feast's `host:port,db=N,password=…,ssl=true,unix_socket_path=…` form of `url`."""
    target = parse_redis_url(url)
    options = [f"{target.host}:{target.port}"]
    if target.db is not None:
        options.append(f"db={target.db}")
    if target.password is not None:
        options.append(f"password={target.password}")
    if target.username is not None and target.username != "default":
        options.append(f"username={target.username}")
    if target.scheme == "rediss":
        options.append("ssl=true")
    if target.socket_path is not None:
        options.append(f"unix_socket_path={target.socket_path}")
    return ",".join(options)


def redis_display(url: str) -> str:
    """Where the URL points, without credentials: `host:port/db` or the socket path."""
    target = parse_redis_url(url)
    where = target.socket_path or f"{target.host}:{target.port}"
    return where if target.db is None else f"{where} db {target.db}"
