"""A probe of the list's seeds alone: what a curator learns from a first crawl, in
minutes instead of hours.

Per seed it records the robots.txt verdict of its host (and whether the seed may be
fetched), the status it answers, where it ends after redirects inside the list, and
the first redirect that leaves every entry's scope: dead and moved entries surface by
themselves.  One request at a time per host, ``delay`` seconds apart; hosts in
parallel.  Redirects are followed by hand, so that a hop out of the list is seen and
never fetched.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from urllib.parse import urljoin, urlsplit

from stepdr.core.urls import canonical

from .domains import Domain, DomainSet
from .robots_rules import Rules, rules_from, verdict

MAX_REDIRECTS = 5
ROBOTS_BYTES = 512 * 1024
PAGE_BYTES = 64 * 1024  # enough to know the seed answered; the page itself is not kept


@dataclass(frozen=True)
class SeedProbe:
    entry: str  # the entry's key (domain + path)
    seed: str
    robots: str  # rules | none (404) | unreachable (503) | unreachable
    allowed: bool  # robots.txt lets the crawler fetch the seed
    status: int | None  # the last answer's HTTP status; None when nothing answered
    final: str  # where the seed ended after redirects inside the list
    left_scope: str | None = None  # the first redirect target no entry scopes
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.allowed and self.left_scope is None and self.status in range(200, 300)

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"ok": self.ok}


@dataclass(frozen=True)
class _Answer:
    status: int
    location: str | None
    body: bytes


Fetch = Callable[[str], _Answer]


def http_fetcher(
    user_agent: str, timeout: float = 10.0, resolve: Mapping[str, str] | None = None
) -> Fetch:
    """GET without following redirects, reading at most a prefix of the body.

    ``resolve`` pins host names to addresses, like ``curl --resolve`` (tests use it
    for loopback servers with real-looking names).
    """
    pinned = dict(resolve or {})

    def fetch(url: str) -> _Answer:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        address = pinned.get(host, host)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            if address != host:
                raise ValueError("pinned addresses are for plain http only")
            context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(address, port, timeout=timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={"Host": parts.netloc, "User-Agent": user_agent})
            response = conn.getresponse()
            limit = ROBOTS_BYTES if parts.path == "/robots.txt" else PAGE_BYTES
            body = response.read(limit)
            return _Answer(response.status, response.getheader("Location"), body)
        finally:
            conn.close()

    return fetch


def probe(
    domains: DomainSet, fetch: Fetch, delay: float = 1.0, workers: int = 16
) -> list[SeedProbe]:
    """Every seed of every crawled entry, probed; in the list's order."""
    by_host: dict[str, list[tuple[Domain, str]]] = defaultdict(list)
    order: list[tuple[str, str]] = []
    for d in domains.crawlable():
        for seed in d.seeds or (d.base_url,):
            by_host[(urlsplit(seed).hostname or "").lower()].append((d, seed))
            order.append((d.key, seed))
    found: dict[tuple[str, str], SeedProbe] = {}
    lock = threading.Lock()

    def host_worker(seeds: list[tuple[Domain, str]]) -> None:
        last = 0.0
        robots: dict[str, tuple[int | None, Rules]] = {}

        def polite(url: str) -> _Answer:
            nonlocal last
            wait = last + delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                return fetch(url)
            finally:
                last = time.monotonic()

        for d, seed in seeds:
            result = _probe_seed(domains, d, seed, polite, robots)
            with lock:
                found[(d.key, seed)] = result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _ in pool.map(host_worker, by_host.values()):
            pass
    return [found[k] for k in order]


def _probe_seed(
    domains: DomainSet,
    d: Domain,
    seed: str,
    fetch: Fetch,
    robots: dict[str, tuple[int | None, Rules]],
) -> SeedProbe:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(seed))
    if origin not in robots:
        robots[origin] = _robots(origin, fetch)
    status, rules = robots[origin]
    said = verdict(status, rules)
    if not rules.allows(seed):
        return SeedProbe(d.key, seed, said, False, None, seed)
    url = seed
    try:
        for _ in range(MAX_REDIRECTS + 1):
            answer = fetch(url)
            if not (300 <= answer.status < 400 and answer.location):
                return SeedProbe(d.key, seed, said, True, answer.status, url)
            target = urljoin(url, answer.location)
            canon = canonical(target)
            if canon is None or domains.match(domains.canonical(canon)) is None:
                return SeedProbe(d.key, seed, said, True, answer.status, url, left_scope=target)
            url = target
        return SeedProbe(d.key, seed, said, True, None, url, error="too many redirects")
    except (OSError, http.client.HTTPException, ValueError) as e:
        return SeedProbe(d.key, seed, said, True, None, url, error=_describe(e))


def _robots(origin: str, fetch: Fetch) -> tuple[int | None, Rules]:
    url = origin + "/robots.txt"
    try:
        for _ in range(MAX_REDIRECTS + 1):
            answer = fetch(url)
            if 300 <= answer.status < 400 and answer.location:
                url = urljoin(url, answer.location)
                continue
            return answer.status, rules_from(answer.status, answer.body, time.time())
    except (OSError, http.client.HTTPException, ValueError):
        pass
    return None, Rules(None, False, 0.0)


def _describe(e: BaseException) -> str:
    if isinstance(e, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(e).__name__}: {str(e)[:120]}"


def probe_lines(results: list[SeedProbe]) -> list[str]:
    """One line per seed that needs a curator's look, then a count."""
    lines = []
    for r in results:
        if r.ok:
            continue
        if r.robots.startswith("unreachable"):
            why = f"robots.txt is {r.robots}: the crawl fetches nothing on this host for now"
        elif not r.allowed:
            why = "is disallowed by robots.txt"
        elif r.left_scope:
            why = f"redirects ({r.status}) out of the list to {r.left_scope}"
        elif r.error:
            why = r.error
        else:
            why = f"answered {r.status}"
        lines.append(f"warning: {r.entry}: seed {r.seed} {why}")
    bad = len(lines)
    lines.append(f"{len(results)} seed(s) probed: {len(results) - bad} ok, {bad} to look at")
    return lines
