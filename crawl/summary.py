"""The summary of a crawl, from Scrapy's stats: what the CLI prints and stats.json keeps."""

from __future__ import annotations

from typing import Any

from .curator import curator_lines


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    def group(prefix: str) -> dict[str, int]:
        return {
            k[len(prefix) :]: int(v)
            for k, v in sorted(stats.items())
            if k.startswith(prefix) and isinstance(v, int | float)
        }

    start, finish = stats.get("start_time"), stats.get("finish_time")
    elapsed = stats.get("elapsed_time_seconds")
    if elapsed is None and start is not None and finish is not None:
        elapsed = (finish - start).total_seconds()
    pages = int(stats.get("stepdr/pages", 0))
    return {
        "pages": pages,
        "responses": int(stats.get("downloader/response_count", 0)),
        "stored_records": int(stats.get("stepdr/stored_records", 0)),
        "stored_bytes": int(stats.get("stepdr/stored_bytes", 0)),
        "unchanged": int(stats.get("stepdr/unchanged", 0)),
        "errors": int(stats.get("stepdr/errors", 0)),
        "repaired_records": int(stats.get("stepdr/repaired_records", 0)),
        "rejected": group("stepdr/rejected/"),
        "pages_by_entry": group("stepdr/pages_by_entry/"),
        "seeds": dict(stats.get("stepdr/seeds", {})),
        "moved": dict(stats.get("stepdr/moved", {})),
        "robots": dict(stats.get("stepdr/robots", {})),
        "elapsed_s": round(float(elapsed or 0.0), 3),
        "pages_per_s": round(pages / float(elapsed), 2) if elapsed else 0.0,
        "finish_reason": str(stats.get("finish_reason", "")),
    }


def format_summary(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"pages {summary['pages']}  responses {summary['responses']}  "
        f"stored {summary['stored_records']} ({human_bytes(summary['stored_bytes'])})  "
        f"unchanged {summary['unchanged']}  errors {summary['errors']}  "
        f"in {summary['elapsed_s']:.1f} s ({summary['pages_per_s']} pages/s)"
    ]
    if summary["rejected"]:
        lines.append(
            "rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["rejected"].items()))
        )
    for entry, n in sorted(summary["pages_by_entry"].items()):
        lines.append(f"  {entry}: {n} pages")
    return lines + curator_lines(summary)


__all__ = ["format_summary", "human_bytes", "summarize"]
