"""Shared fixtures: a small site of our own, declared as a mirrored domain."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from stepdr.crawl.config import CrawlConfig
    from stepdr.rank import Surfer

    from .mockserver import MockServer

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
SITE_HOST = "standards.example.org"


def write_domains(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "domains": entries}, sort_keys=False))
    return path


def mock_crawl_config(tmp_path: Path, server: MockServer, host: str, **kw: Any) -> CrawlConfig:
    """A crawl of one mock-server host from its home page, pinned to loopback, no delay."""
    from stepdr.crawl.config import CrawlConfig

    domains = write_domains(
        tmp_path / "domains.yaml",
        [{"domain": host, "name": host, "category": "test", "tier": 2,
          "seeds": [server.url(host, "/")]}],
    )  # fmt: skip
    settings: dict[str, Any] = {
        "delay": 0.0,
        "resolve": ((host, "127.0.0.1"),),
        "allow_private_hosts": (host,),
        "progress": "off",
        "log_level": "WARNING",
    }
    return CrawlConfig(domains, tmp_path / "data", tmp_path / "mirrors", **{**settings, **kw})


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the fixture site (tests may add pages to it)."""
    root = tmp_path / "mirrors" / "site"
    shutil.copytree(FIXTURES / "site", root)
    return root


@pytest.fixture
def site_domains(tmp_path: Path, site: Path) -> Path:
    return write_domains(
        tmp_path / "domains.yaml",
        [
            {
                "domain": SITE_HOST,
                "name": "Example Standards Office",
                "category": "standards",
                "tier": 1,
                "seeds": [f"https://{SITE_HOST}/"],
                "mirror": {"path": str(site)},
            }
        ],
    )


def docs_mirrors() -> Path:
    """Where the Debian doc mirrors were unpacked (`make mirrors`)."""
    return Path(os.environ.get("STEPDR_TEST_MIRRORS", REPO / "data" / "mirrors"))


def require_mirror(package: str) -> Path:
    root = docs_mirrors() / package
    if not root.is_dir():
        if os.environ.get("CI") or os.environ.get("STEPDR_REQUIRE_MIRRORS"):
            pytest.fail(f"{package} mirror missing under {docs_mirrors()}: run 'make mirrors'")
        pytest.skip(f"{package} mirror not unpacked (run 'make mirrors')")
    return root


@pytest.fixture(scope="session")
def crawled_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding a finished crawl of the fixture site (shared, read-only)."""
    from stepdr.crawl.config import CrawlConfig
    from stepdr.crawl.run import run_crawl

    root = tmp_path_factory.mktemp("crawled")
    site_root = root / "mirrors" / "site"
    shutil.copytree(FIXTURES / "site", site_root)
    domains = write_domains(
        root / "domains.yaml",
        [{"domain": SITE_HOST, "name": "Example Standards Office", "category": "standards",
          "tier": 1, "mirror": {"path": str(site_root)}}],
    )  # fmt: skip
    run_crawl(CrawlConfig(domains, root / "data", root / "mirrors", offline=True))
    return root


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("gpu" in item.keywords for item in items) and not _has_cuda():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


# -- the ranking corpus, shared by the ranking, server, MCP and CLI tests ----------------


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .rankutil import build_corpus

    return build_corpus(tmp_path_factory.getbasetemp() / "rank-corpus")


@pytest.fixture(scope="session")
def surfer(corpus: Path) -> Surfer:
    from stepdr.rank import Surfer

    return Surfer.open(corpus)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A redis-server of this test's own (see redisutil.py)."""
    from .redisutil import redis_server

    with redis_server() as url:
        yield url
