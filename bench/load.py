"""Concurrent clients against ``stepdr-index serve``: one query at a time per forward pass
(the baseline) against micro-batched query embedding, in one run.

Starts the server on a free loopback port for each setting, sends the same
section-heading queries from CLIENTS threads (each on its own keep-alive
connection, REQUESTS in all, bounded in time too) to ``POST /v1/search``, and prints
requests/s and p50/p95 latency, then the ratios against the baseline.

    .venv/bin/python bench/load.py [--data data] [--clients 16] [--requests 800]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import heading_queries, load_passages

# The server's own flags per setting: the baseline is one forward pass per search.
SETTINGS = {
    "one at a time": ["--no-micro-batch"],
    "micro-batched": ["--micro-batch-ms", "2"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, port: int, flags: list[str], workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "stepdr.rank.cli", "serve", "--data", str(data),
           "--port", str(port), "--no-auth", "--rate", "0", "--workers", str(workers),
           *flags]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server on port {port} did not come up")


def run_clients(
    port: int, queries: list[str], clients: int, requests: int, limit_s: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + limit_s

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in counter:
            if time.monotonic() > deadline:
                break
            body = json.dumps({"query": queries[i % len(queries)], "n": 10})
            t = time.perf_counter()
            conn.request("POST", "/v1/search", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            took = time.perf_counter() - t
            with lock:
                if response.status == 200:
                    latencies.append(took)
                else:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=800)
    ap.add_argument("--workers", type=int, default=16, help="the server's --workers")
    ap.add_argument("--limit-s", type=float, default=120.0, help="per setting, at most")
    args = ap.parse_args()

    queries = [q for q, _ in heading_queries(load_passages(args.data), 512)]
    print(f"{args.clients} clients, {args.requests} requests, {len(queries)} distinct queries, "
          f"server --workers {args.workers}, {os.cpu_count()} cores")  # fmt: skip
    print(f"{'setting':<16} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    rows: dict[str, tuple[float, float, float]] = {}
    for name, flags in SETTINGS.items():
        port = free_port()
        proc = start_server(args.data, port, flags, args.workers)
        try:
            run_clients(port, queries, args.clients, 64, 30.0)  # warm the model and caches
            took, lat, errors = run_clients(
                port, queries, args.clients, args.requests, args.limit_s
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        rows[name] = (len(lat) / took, pct(lat, 0.5), pct(lat, 0.95))
        print(f"{name:<16} {rows[name][0]:>7.1f} {rows[name][1]:>8.1f} {rows[name][2]:>8.1f} "
              f"{errors:>7}")  # fmt: skip
    base, new = rows["one at a time"], rows["micro-batched"]
    print(f"ratio (micro-batched / one at a time): requests/s {new[0] / base[0]:.2f}x, "
          f"p50 {new[1] / base[1]:.2f}x, p95 {new[2] / base[2]:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
