"""The Redis side of a partitioned crawl: leases, heartbeats, link hand-over, status.

Keys, under ``stepdr:NAME:`` (NAME is the crawl's name, ``crawl`` by default)::

    config          the crawl's settings (JSON); every worker must bring the same
    parts           set of every partition (registered domains)
    pending         list of partitions nobody holds and not finished
    done            set of finished partitions
    leased:W        list of the partitions worker W holds
    alive:W         W's heartbeat: its token, expiring after the lease TTL
    workers         set of every worker that joined
    worker:W        hash of W's figures (pid, host, pages, errors, started, beat)
    part:P          hash of P's figures (owner, pages, state)
    links:P         stream of links found elsewhere that belong to P
    recrawled       set of partitions whose recrawl pass has begun

A lease is the reliable-queue pattern: ``LMOVE pending -> leased:W``.  When ``alive:W``
expires, any worker's reaper moves ``leased:W`` back to ``pending``.  Every step that
must not race another worker is one Lua script, so it runs atomically on the server.
Finishing a partition checks that its stream holds nothing its owner has not read, and
a hand-over into a finished partition puts it back in ``pending``: a crawl is over
when every partition is in ``done``.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepdr.core.errors import CrawlError

if TYPE_CHECKING:
    import redis

_INIT = """
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  redis.call('SADD', KEYS[3], ARGV[i])
end
return false
"""
_JOIN = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and ARGV[4] ~= cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return false
"""
_BEAT = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return redis.error_reply('CLASH ' .. cur) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('LRANGE', KEYS[2], 0, -1)
"""
_REAP = """
local n = 0
for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. w) == 0 then
    local held = ARGV[1] .. 'leased:' .. w
    while redis.call('LMOVE', held, KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end
  end
end
return n
"""
_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
return redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT')
"""
_RELEASE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
return true
"""
_FINISH = """
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 'lost' end
local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #top > 0 and top[1][1] ~= ARGV[2] then return 'more' end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 'done'
"""
_SEND = """
for i = 2, #ARGV, 5 do
  local key = ARGV[i]
  redis.call('XADD', ARGV[1] .. 'links:' .. key, '*',
             'u', ARGV[i + 1], 'd', ARGV[i + 2], 'r', ARGV[i + 3], 'f', ARGV[i + 4])
  if redis.call('SREM', KEYS[1], key) == 1 then redis.call('RPUSH', KEYS[2], key) end
end
return true
"""


class LeaseClash(CrawlError):
    """Another live process uses this worker name."""


@dataclass(frozen=True)
class HandedOver:
    """A link another partition found for this one, as its stream holds it."""

    id: str
    url: str
    depth: int
    hops: int


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc; None when it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode("latin-1")
    except FileNotFoundError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], fields[19]


def new_token() -> str:
    stat = _proc_stat(os.getpid()) if os.path.isdir("/proc") else None
    return json.dumps({
        "host": socket.gethostname(), "pid": os.getpid(), "id": uuid.uuid4().hex,
        "start": stat[1] if stat else "",
    })  # fmt: skip


def _stale_own(token: str) -> bool:
    """A token of a process of this machine that is gone (a worker killed and restarted).

    A killed process may linger as a zombie nobody reaps (a container's init may not),
    and its pid may be reused: both count as gone.
    """
    try:
        info = json.loads(token)
        if info.get("host") != socket.gethostname():
            return False
        pid = int(info["pid"])
        if os.path.isdir("/proc"):
            stat = _proc_stat(pid)
            return (
                stat is None
                or stat[0] in ("Z", "X")
                or (bool(info.get("start")) and stat[1] != info["start"])
            )
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (ValueError, KeyError, TypeError, OSError):
        return False
    return False


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that fails in seconds, not minutes, when Redis is away."""
    import redis as redis_lib

    try:
        client = redis_lib.Redis.from_url(
            url, socket_timeout=10, socket_connect_timeout=5, decode_responses=True
        )
        client.ping()
    except (redis_lib.RedisError, ValueError) as e:
        raise CrawlError(f"Redis at {url} is unreachable: {e}") from None
    return client


class Leases:
    """One worker's view of the crawl's coordination state."""

    def __init__(self, client: redis.Redis, name: str, worker: str, token: str, ttl: float):
        self.r = client
        self.prefix = f"stepdr:{name}:"
        self.name = name
        self.worker = worker
        self.token = token
        self.ttl_ms = max(1, int(ttl * 1000))
        self._scripts = {
            k: client.register_script(src)
            for k, src in {
                "init": _INIT, "join": _JOIN, "beat": _BEAT, "reap": _REAP, "lease": _LEASE,
                "release": _RELEASE, "finish": _FINISH, "send": _SEND,
            }.items()
        }  # fmt: skip

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _run(self, script: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        return self._scripts[script](keys=list(keys), args=list(args))

    # -- joining ------------------------------------------------------------------------

    def init(self, config: dict[str, Any], partitions: Iterable[str]) -> dict[str, Any] | None:
        """Start the crawl, or return the settings it was started with when it exists."""
        keys = (self.key("config"), self.key("pending"), self.key("parts"))
        cur = self._run("init", keys, [json.dumps(config, sort_keys=True), *partitions])
        return json.loads(cur) if cur else None

    def join(self) -> None:
        """Take the worker's name; LeaseClash when a live process holds it."""
        alive = self.key("alive", self.worker)
        cur = str(self.r.get(alive) or "")
        stale = cur if cur and _stale_own(cur) else ""
        args = [self.token, self.ttl_ms, self.worker, stale]
        held = self._run("join", (alive, self.key("workers")), args)
        if held:
            info = json.loads(held)
            raise LeaseClash(
                f"worker {self.worker!r} is already running (pid {info.get('pid')} on "
                f"{info.get('host')}); if it was killed, its leases expire "
                f"{self.ttl_ms / 1000:g} s after its last heartbeat"
            )
        self.r.hset(
            self.key("worker", self.worker),
            mapping={"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                     "beat": time.time(), "pages": 0, "errors": 0, "last_error": ""},
        )  # fmt: skip

    # -- leases -------------------------------------------------------------------------

    def beat(self) -> list[str]:
        """Renew the heartbeat; the partitions this worker still holds."""
        import redis as redis_lib

        try:
            held = self._run(
                "beat",
                (self.key("alive", self.worker), self.key("leased", self.worker)),
                [self.token, self.ttl_ms],
            )
        except redis_lib.ResponseError as e:
            if "CLASH" in str(e):
                raise LeaseClash(f"worker {self.worker!r}: another process took its name") from e
            raise
        return list(held)

    def reap(self) -> int:
        """Return the leases of workers whose heartbeat expired; how many."""
        return int(self._run("reap", (self.key("workers"), self.key("pending")), [self.prefix]))

    def lease(self) -> str | None:
        keys = (
            self.key("alive", self.worker),
            self.key("pending"),
            self.key("leased", self.worker),
        )
        got = self._run("lease", keys, [self.token])
        return str(got) if got else None

    def release(self, partition: str) -> None:
        keys = (self.key("leased", self.worker), self.key("pending"))
        self._run("release", keys, [partition])

    def finish(self, partition: str, last_id: str) -> str:
        """``done``; ``more`` when its stream has links not read yet; ``lost``."""
        keys = (self.key("leased", self.worker), self.key("done"), self.key("links", partition))
        return str(self._run("finish", keys, [partition, last_id]))

    def leave(self) -> None:
        """Hand every lease back and stop the heartbeat, so others take over at once."""
        for partition in self.r.lrange(self.key("leased", self.worker), 0, -1):
            self.release(str(partition))
        self.r.delete(self.key("alive", self.worker))

    # -- links between partitions -------------------------------------------------------

    def send(self, links: Sequence[tuple[str, str, int, int]]) -> None:
        """Hand (partition, url, depth, hops) over to the partitions' streams."""
        args: list[Any] = [self.prefix]
        for partition, url, depth, hops in links:
            args += [partition, url, depth, hops, self.worker]
        self._run("send", (self.key("done"), self.key("pending")), args)

    def read(
        self, partitions: Sequence[tuple[str, str]], count: int = 1000
    ) -> dict[str, list[HandedOver]]:
        """Links after each (partition, last id read), in stream order."""
        pipe = self.r.pipeline(transaction=False)
        for partition, after in partitions:
            pipe.xrange(self.key("links", partition), f"({after}" if after else "-", "+", count)
        out: dict[str, list[HandedOver]] = {}
        for (partition, _), entries in zip(partitions, pipe.execute(), strict=True):
            out[partition] = [
                HandedOver(i, f["u"], int(f.get("d", 0)), int(f.get("r", 0))) for i, f in entries
            ]
        return out

    # -- figures ------------------------------------------------------------------------

    def publish(
        self, parts: dict[str, dict[str, Any]], figures: dict[str, Any] | None = None
    ) -> None:
        """Per partition, its figures; with ``figures``, the worker's own too."""
        pipe = self.r.pipeline(transaction=False)
        if figures is not None:
            mine: dict[Any, Any] = {"beat": time.time(), **figures}
            pipe.hset(self.key("worker", self.worker), mapping=mine)
        for partition, fields in parts.items():
            pipe.hset(self.key("part", partition), mapping=dict[Any, Any](fields))
        pipe.execute()

    def begin_recrawl(self, partition: str) -> bool:
        """True the first time any worker opens ``partition`` in a recrawl."""
        return bool(self.r.sadd(self.key("recrawled"), partition))

    def over(self) -> bool:
        pipe = self.r.pipeline(transaction=False)
        pipe.scard(self.key("done"))
        pipe.scard(self.key("parts"))
        done, total = pipe.execute()
        return int(total) > 0 and int(done) >= int(total)


__all__ = ["HandedOver", "LeaseClash", "Leases", "connect", "new_token"]
