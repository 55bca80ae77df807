"""What a partitioned crawl is doing, read from its Redis keys (see leases.py)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis


def crawl_status(client: redis.Redis, name: str = "crawl") -> dict[str, Any]:
    """Partitions by state, workers with their figures, and every partition's own."""
    p = f"stepdr:{name}:"
    pipe = client.pipeline(transaction=False)
    pipe.get(p + "config")
    pipe.smembers(p + "parts")
    pipe.smembers(p + "done")
    pipe.lrange(p + "pending", 0, -1)
    pipe.smembers(p + "workers")
    config, parts, done, pending, workers = pipe.execute()
    workers = sorted(workers)
    pipe = client.pipeline(transaction=False)
    for w in workers:
        pipe.hgetall(p + "worker:" + w)
        pipe.lrange(p + "leased:" + w, 0, -1)
        pipe.pttl(p + "alive:" + w)
    answers = pipe.execute()
    now = time.time()
    owner: dict[str, str] = {}
    rows = []
    for i, w in enumerate(workers):
        fig, held, ttl = answers[3 * i : 3 * i + 3]
        for part in held:
            owner[part] = w
        started, beat = float(fig.get("started", now)), float(fig.get("beat", now))
        pages = int(fig.get("pages", 0))
        rows.append({
            "worker": w,
            "alive": int(ttl) > 0,
            "pid": fig.get("pid", ""),
            "host": fig.get("host", ""),
            "held": list(held),
            "pages": pages,
            "errors": int(fig.get("errors", 0)),
            "pages_per_s": round(pages / max(beat - started, 1e-6), 2),
            "heartbeat_age_s": round(max(0.0, now - beat), 1),
            "last_error": fig.get("last_error", ""),
        })  # fmt: skip
    ordered = sorted(parts)
    pipe = client.pipeline(transaction=False)
    for part in ordered:
        pipe.hgetall(p + "part:" + part)
    partitions = []
    for part, fig in zip(ordered, pipe.execute(), strict=True):
        state = "done" if part in done else "leased" if part in owner else "pending"
        partitions.append({
            "partition": part,
            "state": state,
            "owner": owner.get(part, ""),
            "pages": int(fig.get("pages", 0)),
        })  # fmt: skip
    alive = [r for r in rows if r["alive"]]
    return {
        "crawl": name,
        "started": config is not None,
        "settings": json.loads(config) if config else None,
        "partitions": {"total": len(parts), "done": len(done), "pending": len(pending),
                       "leased": len(owner)},
        "finished": bool(parts) and len(done) >= len(parts),
        "pages": sum(x["pages"] for x in partitions),
        "pages_per_s": round(sum(r["pages_per_s"] for r in alive), 2),
        "workers": rows,
        "by_partition": partitions,
    }  # fmt: skip


def format_status(status: dict[str, Any], every: bool = False) -> list[str]:
    if not status["started"]:
        return [f"no crawl named {status['crawl']!r} on this Redis"]
    n = status["partitions"]
    state = "finished" if status["finished"] else "running"
    lines = [
        f"crawl {status['crawl']!r}: {state}; {n['total']} partitions: {n['done']} done, "
        f"{n['leased']} leased, {n['pending']} pending; {status['pages']} pages stored",
        "",
        f"{'worker':<16} {'state':<6} {'pid@host':<28} {'held':>5} {'pages':>8} "
        f"{'pages/s':>8} {'errors':>7}  last heartbeat",
    ]
    for w in status["workers"]:
        where = f"{w['pid']}@{w['host']}"[:28]
        lines.append(
            f"{w['worker']:<16} {'alive' if w['alive'] else 'gone':<6} {where:<28} "
            f"{len(w['held']):>5} {w['pages']:>8} {w['pages_per_s']:>8.1f} {w['errors']:>7}  "
            f"{w['heartbeat_age_s']:.0f} s ago"
        )
        if w["last_error"]:
            lines.append(f"{'':<16} error: {w['last_error']}")
    shown = [p for p in status["by_partition"] if every or p["state"] == "leased"]
    if shown:
        lines += ["", f"{'partition':<40} {'state':<8} {'owner':<16} {'pages':>8}"]
        for p in shown:
            lines.append(f"{p['partition']:<40} {p['state']:<8} {p['owner']:<16} {p['pages']:>8}")
    return lines


__all__ = ["crawl_status", "format_status"]
