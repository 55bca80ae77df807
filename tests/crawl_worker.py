"""One crawl worker as a process of its own, for the partitioned-crawl tests.

``python -m tests.crawl_worker SPEC.json``: the spec holds the CrawlConfig fields a
test sets (loopback host pins among them, which the CLI does not take); the result
is printed as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.run import run_crawl


def config_of(spec: dict[str, Any]) -> CrawlConfig:
    hosts = list(spec.pop("hosts"))
    return CrawlConfig(
        Path(spec.pop("domains_file")),
        Path(spec.pop("data_dir")),
        Path(spec.pop("mirrors_dir")),
        resolve=tuple((h, "127.0.0.1") for h in hosts),
        allow_private_hosts=tuple(hosts),
        progress="off",
        log_level="WARNING",
        **spec,
    )


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    result = run_crawl(config_of(spec))
    print(json.dumps({"pages": result.pages, "stats": result.stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
