"""The Redis protocol of a partitioned crawl (crawl/leases.py) against a real redis-server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepdr.core.errors import CrawlError
from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.domains_yaml import load_domains
from stepdr.crawl.leases import LeaseClash, Leases, connect, new_token
from stepdr.crawl.partitioned import partitions_of, start_or_join
from stepdr.rank.cli import main

from .conftest import write_domains


def worker(url: str, name: str, ttl: float = 5.0, token: str | None = None) -> Leases:
    w = Leases(connect(url), "crawl", name, token or new_token(), ttl)
    w.join()
    return w


def started(url: str, parts: list[str]) -> Leases:
    w = worker(url, "w1")
    assert w.init({"budget": 1}, parts) is None
    return w


def test_leases_go_round_and_the_crawl_ends_when_every_partition_is_done(redis_url: str) -> None:
    w1 = started(redis_url, ["a.org", "b.org", "c.org"])
    w2 = worker(redis_url, "w2")
    assert w1.init({"budget": 1}, ["ignored"]) == {"budget": 1}  # created once
    assert [w1.lease(), w2.lease(), w1.lease(), w2.lease()] == ["a.org", "b.org", "c.org", None]
    assert w1.beat() == ["a.org", "c.org"] and w2.beat() == ["b.org"]
    for w, p in ((w1, "a.org"), (w2, "b.org"), (w1, "c.org")):
        assert not w.over()
        assert w.finish(p, "") == "done"
    assert w1.over() and w1.beat() == []
    assert w2.finish("a.org", "") == "lost"  # not its partition


def test_a_dead_workers_leases_return_to_the_pool(redis_url: str) -> None:
    w1 = started(redis_url, ["a.org", "b.org"])
    dead = worker(redis_url, "dead", ttl=0.2)
    assert dead.lease() == "a.org"
    assert w1.reap() == 0  # its heartbeat is still fresh
    time.sleep(0.35)
    assert w1.reap() == 1
    assert [w1.lease(), w1.lease()] == ["b.org", "a.org"]
    assert dead.beat() == []  # it wakes up holding nothing: it must stop "a.org"
    assert dead.lease() is None


def test_a_link_into_a_finished_partition_reopens_it(redis_url: str) -> None:
    w1 = started(redis_url, ["a.org", "b.org"])
    assert w1.lease() == "a.org" and w1.lease() == "b.org"
    assert w1.finish("b.org", "") == "done"
    w1.send([("b.org", "https://b.org/late", 2, 0)])
    assert not w1.over()
    assert w1.lease() == "b.org"
    (got,) = w1.read([("b.org", "")])["b.org"]
    assert (got.url, got.depth, got.hops) == ("https://b.org/late", 2, 0)
    w1.send([("b.org", "https://b.org/later", 3, 1)])
    assert w1.finish("b.org", got.id) == "more"  # a link it has not read yet
    (later,) = w1.read([("b.org", got.id)])["b.org"]
    assert later.url == "https://b.org/later"
    assert w1.finish("b.org", later.id) == "done"


def test_one_name_one_live_worker(redis_url: str) -> None:
    worker(redis_url, "w1")
    with pytest.raises(LeaseClash, match=r"worker 'w1' is already running \(pid \d+"):
        worker(redis_url, "w1")


def test_a_killed_worker_restarted_under_its_name_takes_its_leases_back(redis_url: str) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    token = json.dumps({"host": socket.gethostname(), "pid": int(gone.stdout), "id": "x"})
    old = started(redis_url, ["a.org"]) and worker(redis_url, "w2", ttl=60, token=token)
    assert old.lease() == "a.org"
    again = worker(redis_url, "w2")  # the old pid is dead on this host: no wait for the TTL
    assert again.beat() == ["a.org"]


def test_other_settings_are_refused_with_the_difference_named(
    redis_url: str, tmp_path: Path
) -> None:
    domains = write_domains(tmp_path / "d.yaml", [
        {"domain": h, "name": h, "category": "test", "tier": 2} for h in
        ("a.example.org", "b.example.org", "c.example.net")
    ])  # fmt: skip
    selected = load_domains(domains).crawlable()
    assert partitions_of(selected) == ["example.org", "example.net"]
    cfg = CrawlConfig(domains, tmp_path / "data", tmp_path / "m", redis=redis_url, worker="w1")
    assert start_or_join(cfg, selected) == 2
    assert start_or_join(cfg.__class__(**{**cfg.__dict__, "worker": "w2"}), selected) == 2
    other = CrawlConfig(domains, tmp_path, tmp_path, redis=redis_url, worker="w3", budget=5)
    with pytest.raises(CrawlError, match=r"other settings \(budget 5 here, None there\)"):
        start_or_join(other, selected)
    renamed = CrawlConfig(domains, tmp_path, tmp_path, redis=redis_url, worker="w3",
                          budget=5, crawl_name="second")  # fmt: skip
    assert start_or_join(renamed, selected) == 2


def test_unreachable_redis_and_bad_names_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CrawlError, match=r"Redis at unix://.*nowhere.sock is unreachable"):
        connect(f"unix://{tmp_path}/nowhere.sock")
    result = CliRunner().invoke(main, ["crawl", "--data", str(tmp_path), "--worker", "w"])
    assert result.exit_code != 0 and "--worker needs --redis" in result.output
    result = CliRunner().invoke(
        main, ["crawl", "--data", str(tmp_path), "--redis", "redis://x", "--worker", "a b"]
    )
    assert result.exit_code != 0 and "worker name 'a b'" in result.output


def test_crawl_status_shows_partitions_workers_and_pages(redis_url: str) -> None:
    w1 = started(redis_url, ["a.org", "b.org", "c.org"])
    assert w1.lease() == "a.org"
    w1.publish({"a.org": {"state": "open", "owner": "w1", "pages": 7}}, {"pages": 7})
    w1.finish("a.org", "")
    w1.lease()
    runner = CliRunner()
    out = runner.invoke(main, ["crawl-status", "--redis", redis_url, "--all"])
    assert out.exit_code == 0, out.output
    assert "3 partitions: 1 done, 1 leased, 1 pending; 7 pages stored" in out.output
    assert "w1 " in out.output and "alive" in out.output
    status = json.loads(
        runner.invoke(main, ["crawl-status", "--redis", redis_url, "--json"]).output
    )
    assert status["workers"][0]["held"] == ["b.org"]
    assert {p["partition"]: p["state"] for p in status["by_partition"]} == {
        "a.org": "done", "b.org": "leased", "c.org": "pending"}  # fmt: skip
    none = runner.invoke(main, ["crawl-status", "--redis", redis_url, "--crawl-name", "x"])
    assert "no crawl named 'x'" in none.output


def test_a_socket_that_is_bound_but_not_listening_is_not_ready(tmp_path: Path) -> None:
    # redis-server creates its socket file at bind(), before listen(): a client that
    # connects in between is refused, so readiness is a PING answered, not a file.
    from stepdr.crawl.redis_local import _answers

    path = tmp_path / "r.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        assert path.exists() and not _answers(path)


def test_a_started_server_answers_at_once(redis_url: str) -> None:
    from stepdr.crawl.redis_local import _answers

    assert _answers(Path(redis_url.removeprefix("unix://")))
