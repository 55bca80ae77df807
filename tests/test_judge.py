"""The checklist judge: task files, reply parsing and score arithmetic, with a scripted judge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from stepdr.agent.judge import Judge, Verdict, grading_table, parse_verdict, score
from stepdr.agent.models.scripted import ScriptedModel
from stepdr.agent.records import Message
from stepdr.agent.rubric import RubricItem, Task, load_tasks, pick_task
from stepdr.core.errors import TaskFormatError

from .conftest import FIXTURES

JUDGE_FIXTURES = FIXTURES / "judge"
BUNDLED = Path(__file__).parent.parent / "agent" / "tasks" / "docs.jsonl"


def _yes(why: str = "it says so") -> str:
    return json.dumps({"satisfied": True, "justification": why})


def _no(why: str = "it does not") -> str:
    return json.dumps({"satisfied": False, "justification": why})


def test_researchrubrics_layout_loads_as_is() -> None:
    tasks = load_tasks(JUDGE_FIXTURES / "researchrubrics.jsonl")
    assert [t.id for t in tasks] == ["rr-1", "rr-2"]
    first = tasks[0]
    assert first.prompt == "How often are thermometers recalibrated?"
    assert [i.weight for i in first.items] == [5.0, 2.0, -4.0]
    assert first.items[0].category == "Explicit Criteria"
    assert first.total_positive == 7.0
    # Nested lists stored as a JSON string, weights as numeric strings.
    assert tasks[1].items == (RubricItem("Encoded as a string.", 3.0, "Communication Quality"),)


def test_field_name_variants() -> None:
    a, b = load_tasks(JUDGE_FIXTURES / "variants.jsonl")
    assert a.id == "task-1" and a.prompt == "Plain strings as items"
    assert [(i.text, i.weight) for i in a.items] == [("First point.", 1.0), ("Second point.", 1.0)]
    assert a.sources == ("https://example.org/a",)
    assert b.id == "7" and b.items[0] == RubricItem("Uses text.", 2.0, "c")
    assert b.items[1] == RubricItem("Uses description.", 1.0, "")
    assert b.sources == ("https://example.org/b",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"rubrics": ["x"]}', "no prompt"),
        ('{"prompt": "p"}', "no rubric items"),
        ('{"prompt": "p", "rubrics": [{"weight": 1}]}', "has no text"),
        ('{"prompt": "p", "rubrics": [{"text": "t", "weight": "heavy"}]}', "not a number"),
        ('{"prompt": "p", "rubrics": [{"text": "t", "weight": -1}]}', "no item of positive"),
        ("not json", "not JSON"),
    ],
)
def test_bad_task_lines_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TaskFormatError, match=message):
        load_tasks(path)


def test_duplicate_ids_and_task_choice(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    row = {"id": "a", "prompt": "p", "rubrics": ["x"]}
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(TaskFormatError, match="twice"):
        load_tasks(path)
    tasks = load_tasks(JUDGE_FIXTURES / "researchrubrics.jsonl")
    assert pick_task(tasks, "rr-2", None).id == "rr-2"
    assert pick_task(tasks, None, "How often are  thermometers recalibrated?").id == "rr-1"
    with pytest.raises(TaskFormatError, match="--task"):
        pick_task(tasks, None, "another question")


def test_bundled_docs_tasks() -> None:
    tasks = load_tasks(BUNDLED)
    assert len(tasks) >= 10
    hosts = ("docs.python.org", "www.postgresql.org", "www.sqlite.org", "docs.djangoproject")
    for h in (*hosts, "docs.scrapy.org"):
        assert any(h in s for t in tasks for s in t.sources), h
    assert all(any(i.category == "citations" for i in t.items) for t in tasks)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"satisfied": true, "justification": "quote"}', (True, "quote")),
        ('Sure! ```json\n{"Satisfied": "no", "reason": "absent"}\n```', (False, "absent")),
        ('<think>hmm {"satisfied": true}</think>{"verdict": "yes"}', (True, "")),
        ('{"supported": false, "explanation": "other topic"}', (False, "other topic")),
        ("Verdict: YES. The report says twelve months.", (True, None)),
        ('{"satisfied": false, "justification": "broken "quotes" here"}', (False, None)),
        ("No, the report never mentions it.", (False, None)),
        ("The criterion is not satisfied by this report.", (False, None)),
        ("The report satisfies the criterion.", (True, None)),
    ],
)
def test_lenient_reply_parsing(reply: str, expected: tuple[bool, str | None]) -> None:
    parsed = parse_verdict(reply)
    assert parsed is not None and parsed[0] is expected[0]
    if expected[1] is not None:
        assert parsed[1] == expected[1]


@pytest.mark.parametrize(
    "reply", ["", "I cannot tell.", "{broken json", "Satisfied? Or not satisfied?"]
)
def test_unreadable_replies_parse_to_none(reply: str) -> None:
    assert parse_verdict(reply) is None


def _task(*weights: float) -> Task:
    return Task("t", "Q?", tuple(RubricItem(f"item {i}", w) for i, w in enumerate(weights)))


def test_score_arithmetic_with_weights_and_penalties() -> None:
    task = _task(5, 3, 2, -4)
    judge = Judge(ScriptedModel([_yes("twelve months"), _no(), _yes(), _no()]), require_quote=False)
    g = judge.grade(task, "# Q?\n\nTwelve months.")
    assert g.total_positive == 10 and g.earned == 7 and g.score == pytest.approx(0.7)
    assert [v.satisfied for v in g.verdicts] == [True, False, True, False]
    assert g.verdicts[0].justification == "twelve months"
    # The penalty applies when its flaw is found: (5 + 2 - 4) / 10.
    g = Judge(ScriptedModel([_yes(), _no(), _yes(), _yes()]), require_quote=False).grade(task, "r")
    assert g.score == pytest.approx(0.3) and g.to_dict()["penalties"] == -4
    # Penalties beyond the earned weight clamp at 0.
    g = Judge(ScriptedModel([_no(), _no(), _yes(), _yes()]), require_quote=False).grade(task, "r")
    assert g.earned == -2 and g.score == 0.0
    assert score([]) == 0.0


def test_unparseable_reply_counts_as_unmet_and_grading_goes_on() -> None:
    judge = Judge(ScriptedModel(["I am not sure what you mean.", _yes()]), require_quote=False)
    g = judge.grade(_task(1, 1), "r")
    first, second = g.verdicts
    assert not first.satisfied and not first.parsed and "unreadable" in first.justification
    assert second.satisfied and g.score == 0.5 and g.to_dict()["unparsed"] == 1
    # A judge that fails outright is the same: unmet, with the reason.
    g = Judge(ScriptedModel([_yes()]), require_quote=False).grade(_task(1, 1), "r")
    assert g.verdicts[1].justification.startswith("judge model failed")
    assert g.score == 0.5


def test_judge_sees_question_report_and_one_criterion() -> None:
    def look(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        assert "Q?" in prompt and "THE REPORT" in prompt and "item 0" in prompt
        assert "item 1" not in prompt
        return _yes()

    model = ScriptedModel([look, _no()])
    Judge(model).grade(_task(1, 1), "THE REPORT")
    assert model.calls == 2


def test_grading_round_trip_and_table() -> None:
    g = Judge(ScriptedModel([_yes("a | b"), _no()]), require_quote=False).grade(_task(2, -1), "r")
    again = type(g).from_dict(json.loads(json.dumps(g.to_dict())))
    assert again.score == g.score == 1.0
    assert [v.satisfied for v in again.verdicts] == [True, False]
    assert again.verdicts[0].item == g.verdicts[0].item
    table = grading_table(g)
    assert "| # | weight |" in table and "a / b" in table
    assert "score 1.000 = max(0, 2) / 2" in table
    assert isinstance(g.verdicts[0], Verdict)


REPORT = (
    "# How often are thermometers recalibrated?\n\n"
    "Liquid-in-glass thermometers are recalibrated every twelve months against a reference."
)


def test_a_satisfied_verdict_must_quote_the_report() -> None:
    task = Task(
        "t",
        "How often are thermometers recalibrated?",
        (
            RubricItem("States that thermometers are recalibrated every twelve months.", 2),
            RubricItem("Names the reference instrument used.", 1),
            RubricItem("Mentions platinum resistance thermometers.", 1),
            RubricItem("Claims a recalibration interval in days.", -1),
        ),
    )
    replies = [
        # Restating the criterion is not evidence, however close to the report it is.
        _yes("The report states that thermometers are recalibrated every twelve months."),
        # A real quote: four words in a row from the report.
        _yes('"twelve months against a reference"'),
        # Neither is a quote the report does not contain.
        _yes('"platinum resistance thermometers are stable"'),
        # A penalty must be backed too, or it does not apply.
        _yes("it claims days"),
    ]
    g = Judge(ScriptedModel(replies)).grade(task, REPORT)
    assert [v.satisfied for v in g.verdicts] == [False, True, False, False]
    assert g.score == pytest.approx(0.25)
    assert g.to_dict()["unbacked"] == 3
    assert g.verdicts[0].justification.startswith("no quote from the report backs this verdict")
    # The question itself, repeated as a heading in the report, is no evidence either.
    g = Judge(ScriptedModel([_yes('"how often are thermometers recalibrated"')])).grade(
        Task("t", task.prompt, task.items[:1]), REPORT
    )
    assert g.score == 0.0
    # The check can be turned off for judges trusted to read carefully.
    g = Judge(ScriptedModel(replies), require_quote=False).grade(task, REPORT)
    assert [v.satisfied for v in g.verdicts] == [True, True, True, True]
