"""Shared helpers of the agent tests: a small real index (with a poisoned page) and wiring.

Holds no tests itself; the test modules build their fixtures from these functions.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from stepdr.agent.context import Presenter
from stepdr.agent.loop import Agent
from stepdr.agent.models.base import Model
from stepdr.agent.records import Budgets, Message
from stepdr.agent.tools.base import Tool, Toolbox
from stepdr.agent.tools.file import FileTool
from stepdr.agent.tools.surfer import LocalBackend, WebSurferTool
from stepdr.agent.tools.todo import TodoTool
from stepdr.agent.tools.workspace import Workspace

from .conftest import FIXTURES, SITE_HOST

AGENT_FIXTURES = FIXTURES / "agent"
POISONED_URL = "https://forum.example.net/thermometers.html"
CALIBRATION_URL = f"https://{SITE_HOST}/docs/calibration.html"


def write_warc(path: Path, pages: dict[str, bytes]) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, body in pages.items():
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers
            )
            writer.write_record(record)
    return path


def build_agent_index(crawled_site: Path, root: Path) -> Path:
    """The fixture site's crawl plus a poisoned forum page, indexed (BM25 only, for speed)."""
    from stepdr.crawl.domains_yaml import load_domains
    from stepdr.index.build import BuildConfig, build_index

    data = root / "data"
    shutil.copytree(crawled_site / "data" / "warc", data / "warc")
    poisoned = (AGENT_FIXTURES / "poisoned.html").read_bytes()
    write_warc(data / "warc" / "forum.warc.gz", {POISONED_URL: poisoned})
    build_index(
        BuildConfig(data, workers=1, dense=False), load_domains(crawled_site / "domains.yaml")
    )
    return data


def call(name: str, **arguments: object) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def search(*queries: str, topk: int = 3) -> str:
    return call("batch_web_surfer", action="batch_search", queries=list(queries), topk=topk)


def cite_ids_in(messages: Sequence[Message]) -> list[str]:
    """The web_ ids the tool observations showed the model, in order."""
    import re

    seen: list[str] = []
    for m in messages:
        if m.role == "user" and "<tool_response>" in m.content:
            for cid in re.findall(r"\bweb_[0-9a-f]{8}\b", m.content):
                if cid not in seen:
                    seen.append(cid)
    return seen


def make_agent(
    model: Model,
    data: Path,
    run_dir: Path,
    budgets: Budgets | None = None,
    extra_tools: Sequence[Tool] = (),
    offload: int = 6000,
) -> Agent:
    ws = Workspace(run_dir / "workspace")
    tools: list[Tool] = [
        WebSurferTool(LocalBackend(data)),
        TodoTool(ws),
        FileTool(ws),
        *extra_tools,
    ]
    presenter = Presenter(ws, threshold=offload)
    return Agent(model, Toolbox(tools), presenter, run_dir, budgets or Budgets())


def events(run_dir: Path) -> list[dict[str, object]]:
    lines = (run_dir / "trajectory.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
