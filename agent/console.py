"""What the stepdr-agent commands share: budget options, the live console, argument checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .records import Budgets


def budget_options(f: Any) -> Any:
    """The budget flags of run, resume and eval."""
    for opt in reversed(
        [
            click.option("--max-steps", type=click.IntRange(1), help="Model turns [30]."),
            click.option("--max-context", type=click.IntRange(256), help="Tokens [32768]."),
            click.option("--max-time", type=click.FloatRange(1), help="Seconds [1800]."),
            click.option("--max-calls", type=click.IntRange(1), help="Tool calls a step [8]."),
            click.option("--max-new-tokens", type=click.IntRange(16), help="A reply [2048]."),
        ]
    ):
        f = opt(f)
    return f


def budgets_from(base: Budgets, kw: dict[str, Any]) -> Budgets:
    b = replace(
        base,
        max_steps=kw.get("max_steps") or base.max_steps,
        max_context_tokens=kw.get("max_context") or base.max_context_tokens,
        wall_time_s=kw.get("max_time") or base.wall_time_s,
        max_calls_per_step=kw.get("max_calls") or base.max_calls_per_step,
        max_new_tokens=kw.get("max_new_tokens") or base.max_new_tokens,
    )
    reserve = min(b.answer_reserve, b.max_new_tokens, b.max_context_tokens // 4)
    return replace(b, answer_reserve=reserve)


def one_model(model: Path | None, endpoint: str | None) -> None:
    if model and endpoint:
        raise click.UsageError("give --model or --endpoint, not both")


class ConsoleListener:
    """Shows a run's steps live on stderr as the trajectory records them."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def line(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)

    def __call__(self, e: dict[str, Any]) -> None:
        kind = e["type"]
        if kind == "model":
            self.line(
                click.style(f"step {e['step']}", bold=True)
                + f"  {e['prompt_tokens']} prompt + {e['completion_tokens']} new tokens,"
                f" {e['seconds']:.1f} s"
            )
        elif kind == "message" and e["role"] == "assistant":
            self.line(click.style("  " + short(e["content"], 300), dim=True))
        elif kind == "message" and e.get("forced"):
            self.line(
                click.style(f"  ! {e['forced']} budget low: asking for the answer", fg="yellow")
            )
        elif kind == "tool_call":
            args = json.dumps(e["arguments"], ensure_ascii=False)
            self.line(f"  → {e['name']} {short(args, 160)}")
        elif kind == "observation":
            mark = click.style("ok", fg="green") if e["ok"] else click.style("error", fg="red")
            extra = f", saved to {e['saved_to']}" if e.get("saved_to") else ""
            n = len(e["sources"])
            self.line(f"  ← {mark}, {e['chars']} chars, {n} sources, {e['seconds']:.1f} s{extra}")
        elif kind == "end":
            self.line(f"ended after {e['steps']} steps, {e['seconds']:.0f} s")


def short(text: str, n: int) -> str:
    """``text`` on one line, at most ``n`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"
