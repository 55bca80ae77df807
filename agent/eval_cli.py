"""``stepdr-agent judge`` and ``stepdr-agent eval``: rubric grading and evaluation runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import index_option
from stepdr.core.errors import StepdrError

from .citation_support import SupportChecker
from .console import ConsoleListener, budget_options, budgets_from, one_model
from .evaluate import Evaluator, run_facts, summary_table
from .judge import Judge, grading_table
from .loop import REPORT
from .models.base import Model
from .records import Budgets
from .rubric import load_tasks, pick_task
from .trajectory import FILE
from .wiring import Settings, build_backend, build_model, make_agent

_data_option = index_option("Data directory: the index, and where the default model is assembled.")


def _judge_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option(
                "--judge-model",
                type=click.Path(exists=True, path_type=Path),
                help="A transformers model directory for the judge.",
            ),
            click.option("--judge-endpoint", help="An OpenAI-compatible base URL for the judge."),
            click.option("--judge-api-model", help="The judge's model name at the endpoint."),
            click.option(
                "--quote-check/--no-quote-check",
                default=True,
                show_default=True,
                help="Count a 'satisfied' verdict only when its justification quotes the "
                "report (4 or more words in a row).",
            ),
            click.option(
                "--support",
                "support_n",
                type=click.IntRange(0),
                default=5,
                show_default=True,
                help="Cited sentences to check against their passages (0: none).",
            ),
        ]
    ):
        f = opt(f)
    return f


def _judge_model(
    data_dir: Path,
    path: Path | None,
    endpoint: str | None,
    api_model: str | None,
    say: Any,
    fallback: Model | None = None,
) -> Model:
    if path and endpoint:
        raise click.UsageError("give --judge-model or --judge-endpoint, not both")
    if fallback is not None and not (path or endpoint):
        return fallback
    s = Settings(data_dir=str(data_dir.resolve()), model=str(path.resolve()) if path else None,
                 endpoint=endpoint, api_model=api_model)  # fmt: skip
    say(f"loading the judge ({endpoint or path or 'default'})")
    return build_model(s, say)


@click.command()
@click.argument("report", type=click.Path(exists=True, path_type=Path))
@click.option("--tasks", "tasks_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The tasks JSONL holding the rubric.")  # fmt: skip
@click.option("--task", "task_id", help="The task's id [the one whose prompt is the question].")
@_data_option
@_judge_options
@click.option("--json", "as_json", is_flag=True, help="Print the grading as JSON.")
def judge(report: Path, tasks_file: Path, task_id: str | None, data_dir: Path,
          judge_model: Path | None, judge_endpoint: str | None, judge_api_model: str | None,
          quote_check: bool, support_n: int, as_json: bool) -> None:  # fmt: skip
    """Grade REPORT (a report.md or a run directory) against a task's rubric, item by item."""
    run_dir = report if report.is_dir() else report.parent
    path = report / REPORT if report.is_dir() else report
    if not path.is_file():
        raise click.UsageError(f"no {REPORT} in {report}")
    has_run = (run_dir / FILE).is_file()
    facts = run_facts(run_dir) if has_run else None
    question = facts["question"] if facts else None
    task = pick_task(load_tasks(tasks_file), task_id, question)
    say = ConsoleListener(as_json).line
    grader = Judge(_judge_model(data_dir, judge_model, judge_endpoint, judge_api_model, say),
                   require_quote=quote_check)  # fmt: skip
    markdown = path.read_text(encoding="utf-8")
    grading = grader.grade(task, markdown)
    out: dict[str, Any] = grading.to_dict()
    if facts is not None and support_n and facts["cited"]:
        opener = _opener(data_dir)
        checker = SupportChecker(grader, opener, sample=support_n)
        out["support"] = checker.check(
            markdown, facts["events"], facts["cited"], facts["urls"]
        ).to_dict()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(grading_table(grading))
    sup = out.get("support")
    if sup:
        share = "-" if sup["share"] is None else f"{100 * sup['share']:.0f}%"
        click.echo(f"citation support: {sup['supported']} of {sup['checked']} checked ({share})")


def _opener(data_dir: Path) -> Any:
    try:
        return build_backend(Settings(data_dir=str(data_dir)))
    except StepdrError:  # without an index the check uses only what the run itself saw
        return None


@click.command("eval")
@click.argument("tasks_file", metavar="TASKS",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Evaluation directory [DATA/evals/<TASKS>]; rerun it to resume.")  # fmt: skip
@_data_option
@click.option("--model", type=click.Path(exists=True, path_type=Path),
              help="The agent's transformers model [the bundled default].")  # fmt: skip
@click.option("--endpoint", help="The agent's OpenAI-compatible base URL.")
@click.option("--api-model", help="The model name to ask the endpoint for.")
@_judge_options
@click.option("--only", multiple=True, help="Run only this task id (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="Run only the first N tasks.")
@click.option("--no-shell", is_flag=True, help="Leave the shell tool out.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary table.")
@budget_options
def eval_(tasks_file: Path, out_dir: Path | None, data_dir: Path, model: Path | None,
          endpoint: str | None, api_model: str | None, judge_model: Path | None,
          judge_endpoint: str | None, judge_api_model: str | None, quote_check: bool,
          support_n: int, only: tuple[str, ...], limit: int | None, no_shell: bool, quiet: bool,
          **budget_kw: Any) -> None:  # fmt: skip
    """Run the agent on every task of TASKS, judge each report, and write a summary table."""
    one_model(model, endpoint)
    tasks = load_tasks(tasks_file)
    if only:
        missing = set(only) - {t.id for t in tasks}
        if missing:
            raise click.UsageError(f"no such task: {', '.join(sorted(missing))}")
        tasks = [t for t in tasks if t.id in only]
    tasks = tasks[:limit] if limit else tasks
    out_dir = (out_dir or data_dir / "evals" / tasks_file.stem).resolve()
    settings = Settings(
        data_dir=str(data_dir.resolve()),
        model=str(model.resolve()) if model else None,
        endpoint=endpoint,
        api_model=api_model,
        shell=not no_shell,
        budgets=budgets_from(Budgets(), budget_kw),
    )
    say = ConsoleListener(quiet)
    backend = build_backend(settings)
    say.line(f"loading the model ({settings.endpoint or settings.model or 'default'})")
    agent_model = build_model(settings, say.line)
    grader = Judge(_judge_model(data_dir, judge_model, judge_endpoint, judge_api_model,
                                say.line, agent_model), require_quote=quote_check)  # fmt: skip
    checker = SupportChecker(grader, backend, sample=support_n) if support_n else None

    def factory(run_dir: Path) -> Any:
        return make_agent(settings, run_dir, agent_model, backend, say)

    config = settings.to_dict()
    results = Evaluator(out_dir, factory, grader, checker, config, say.line).evaluate(tasks)
    say.line(f"summary: {out_dir / 'summary.md'}")
    click.echo(summary_table(results))
