"""What a budget keeps follows from the pages' links, not from which response lands first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.order import ReorderBuffer
from stepdr.crawl.run import run_crawl

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site

HOST = "order.test"


@given(st.permutations(list(range(12))))
def test_settled_in_any_order_released_in_issue_order(order: list[int]) -> None:
    buf: ReorderBuffer[int] = ReorderBuffer()
    seqs = [buf.issue("k") for _ in range(12)]
    assert seqs == list(range(12))
    released: list[int] = []
    for seq in order:
        released += buf.settle("k", seq, seq)
        # Nothing is released while an earlier piece is still out.
        assert released == list(range(len(released)))
    assert released == seqs
    assert buf.waiting() == 0


def test_keys_do_not_wait_on_each_other() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer()
    a0, b0 = buf.issue("a"), buf.issue("b")
    a1 = buf.issue("a")
    assert buf.settle("a", a1, "a1") == []  # waits for a0
    assert buf.settle("b", b0, "b0") == ["b0"]  # a slow entry holds back only itself
    assert buf.waiting() == 1
    assert buf.settle("a", a0, "a0") == ["a0", "a1"]
    buf.issue("a")
    a3 = buf.issue("a")
    assert buf.settle("a", a3, "a3") == []
    with pytest.raises(ValueError, match="settled twice"):
        buf.settle("a", a3, "a3")


def test_drain_skips_a_piece_that_never_settles() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer()
    lost, kept, later = buf.issue("a"), buf.issue("a"), buf.issue("a")
    assert buf.settle("a", later, "later") == []
    assert buf.settle("a", kept, "kept") == []
    assert buf.drain() == ["kept", "later"]
    assert buf.waiting() == 0
    assert buf.settle("a", lost, "lost") == ["lost"]  # late: released at once
    assert buf.settle("a", buf.issue("a"), "next") == ["next"]


def _config(tmp_path: Path, server: MockServer, **kw: Any) -> CrawlConfig:
    return mock_crawl_config(tmp_path, server, HOST, per_host=4, **kw)


@pytest.mark.parametrize("slow_first", [True, False])
def test_budget_keeps_the_pages_linked_first(tmp_path: Path, slow_first: bool) -> None:
    slow, fast = "/hub/slow?wait=0.8", "/hub/fast"
    with MockServer() as server:
        server.sites = {HOST: Site(links=[slow, fast] if slow_first else [fast, slow])}
        # Room for the home page, the two hubs, and the three pages of one hub.
        run_crawl(_config(tmp_path, server, budget=6))
        fetched = sorted(h.path for h in server.hits_of(HOST, prefix="/page/"))
    # The fast hub answers first either way; the budget still goes to the hub linked first.
    first = "slow" if slow_first else "fast"
    assert fetched == [f"/page/{first}-{i}" for i in (1, 2, 3)]


class DropLost:
    """A spider middleware that loses every request for /lost, as no stepdr part does."""

    async def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
        async for r in result:
            if not getattr(r, "url", "").endswith("/lost"):
                yield r


def test_a_lost_request_holds_links_back_only_until_idle(tmp_path: Path) -> None:
    with MockServer() as server:
        server.sites = {HOST: Site(links=["/lost", "/hub/after"])}
        mw = {"tests.test_crawl_order.DropLost": 10}
        result = run_crawl(_config(tmp_path, server, settings=(("SPIDER_MIDDLEWARES", mw),)))
        fetched = sorted(h.path for h in server.hits_of(HOST, prefix="/page/"))
        lost = server.hits_of(HOST, "/lost")
    assert lost == []
    # /hub/after was requested after /lost, which never settles: its links wait, then go.
    assert fetched == [f"/page/after-{i}" for i in (1, 2, 3)]
    assert result.stats.get("stepdr/released_on_idle", 0) >= 1
