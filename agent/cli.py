"""The stepdr-agent command line: run a question to a cited report, or resume a run."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import StepdrGroup, index_option

from .console import ConsoleListener, budget_options, budgets_from, one_model
from .eval_cli import eval_, judge
from .loop import REPORT
from .records import Budgets, ExitStatus, RunResult
from .trajectory import FILE, read_events
from .wiring import Settings, build_backend, build_model, make_agent, new_run_dir

EXIT = {ExitStatus.MODEL_ERROR: 1, ExitStatus.INTERRUPTED: 130}


@click.group(cls=StepdrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepdr")
def main() -> None:
    """stepdr-agent: a research agent that answers from the local index, with citations."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("question")
@index_option("Data directory holding the index.")
@click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    help="A transformers model directory or .gguf file [default: the bundled "
    "Qwen2.5-Coder-0.5B-Instruct].",
)
@click.option(
    "--endpoint",
    help="An OpenAI-compatible base URL (vLLM, SGLang, hosted); API key from $OPENAI_API_KEY.",
)
@click.option("--api-model", help="The model name to ask the endpoint for [its first].")
@click.option(
    "--search-url",
    help="Search through this stepdr server instead of in-process "
    "(Bearer token from $STEPDR_SEARCH_TOKEN).",
)
@click.option(
    "--workspace",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory [DATA/runs/<time>-<question>].",
)
@click.option("--no-shell", is_flag=True, help="Leave the shell tool out.")
@click.option(
    "--allow-unsandboxed-shell",
    is_flag=True,
    help="Without bubblewrap, run shell commands with your own rights.",
)
@click.option(
    "--vision-model",
    type=click.Path(exists=True, file_okay=False),
    help="A transformers image-text-to-text model for analyze_image.",
)
@click.option(
    "--no-seed-search",
    is_flag=True,
    help="Do not search the question itself before the model's first step.",
)
@click.option(
    "--answers",
    type=click.Choice(["lenient", "strict"]),
    default="lenient",
    show_default=True,
    help="strict: only an <answer> ends the run (models that follow the format).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the report path.")
@budget_options
def run(question: str, data_dir: Path, model: Path | None, endpoint: str | None,
        api_model: str | None, search_url: str | None, run_dir: Path | None, no_shell: bool,
        allow_unsandboxed_shell: bool, vision_model: str | None, no_seed_search: bool,
        answers: str, quiet: bool,
        **budget_kw: Any) -> None:  # fmt: skip
    """Research QUESTION; write report.md and trajectory.jsonl; print the report's path."""
    one_model(model, endpoint)
    settings = Settings(
        data_dir=str(data_dir.resolve()),
        model=str(model.resolve()) if model else None,
        endpoint=endpoint,
        api_model=api_model,
        search_url=search_url,
        shell=not no_shell,
        allow_unsandboxed_shell=allow_unsandboxed_shell,
        vision_model=str(Path(vision_model).resolve()) if vision_model else None,
        seed_search=not no_seed_search,
        answers=answers,
        budgets=budgets_from(Budgets(), budget_kw),
    )
    run_dir = (run_dir or new_run_dir(data_dir, question)).resolve()
    if (run_dir / FILE).exists():
        raise click.UsageError(f"{run_dir} already holds a run: stepdr-agent resume {run_dir}")
    say = ConsoleListener(quiet)
    backend = build_backend(settings)  # fail on a missing index before loading a model
    say.line(f"loading the model ({settings.endpoint or settings.model or 'default'})")
    agent = make_agent(settings, run_dir, build_model(settings, say.line), backend, say)
    for name, state in agent.toolbox.status().items():
        if state != "enabled":
            say.line(f"tool {name}: {state}")
    say.line(f"run directory: {run_dir}")
    _finish(agent.run(question, settings.to_dict()), quiet)


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print only the report path.")
@budget_options
def resume(run_dir: Path, quiet: bool, **budget_kw: Any) -> None:
    """Continue RUN_DIR from its trajectory (after a crash, an interrupt or a budget stop)."""
    first = read_events(run_dir / FILE)[0]
    settings = Settings.from_dict(first.get("config") or {})
    settings = replace(settings, budgets=budgets_from(settings.budgets, budget_kw))
    say = ConsoleListener(quiet)
    backend = build_backend(settings)
    agent = make_agent(settings, run_dir.resolve(), build_model(settings, say.line), backend, say)
    _finish(agent.resume(), quiet)


@main.command()
@index_option("Data directory; the model is assembled under DATA/models.")
def prepare(data_dir: Path) -> None:
    """Assemble and convert the bundled default model under DATA/models (done once)."""
    from .assets import ensure_default_model

    click.echo(ensure_default_model(data_dir, lambda m: click.echo(m, err=True)))


def _finish(result: RunResult, quiet: bool) -> None:
    if not quiet:
        click.echo(f"{result.status.value}: {result.reason}", err=True)
        if result.removed_citations:
            removed = ", ".join(result.removed_citations)
            click.echo(f"removed citations never retrieved: {removed}", err=True)
    click.echo(result.run_dir / REPORT)
    code = EXIT.get(result.status, 0)
    if code:
        sys.exit(code)


main.add_command(judge)
main.add_command(eval_)
