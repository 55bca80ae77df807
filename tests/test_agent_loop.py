"""The agent loop on a real small index, driven by a scripted model: reports and budgets."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from stepdr.agent.loop import Agent
from stepdr.agent.models.scripted import ScriptedModel
from stepdr.agent.records import Budgets, ExitStatus, Message

from .agentutil import (
    CALIBRATION_URL,
    build_agent_index,
    call,
    cite_ids_in,
    events,
    make_agent,
    search,
)


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


def _cite_found(messages: Sequence[Message]) -> str:
    ids = cite_ids_in(messages)
    assert ids, "the searches showed no cite ids"
    cites = "".join(f"\\cite{{{i}}}" for i in ids[:2])
    return (
        "<think>I have enough.</think><answer>## Recalibration\n\n"
        f"Liquid-in-glass thermometers are recalibrated every twelve months {cites}. "
        "Platinum resistance thermometers may wait twenty-four months \\cite{web_deadbeef}.\n"
        "</answer>"
    )


def test_full_run_writes_a_cited_report(data: Path, tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            "<think>Search first.</think>\n" + search("thermometer recalibrated twelve months"),
            call("batch_web_surfer", action="batch_open", urls=[CALIBRATION_URL]),
            _cite_found,
        ]
    )
    run_dir = tmp_path / "run"
    result = make_agent(model, data, run_dir).run("How often are thermometers recalibrated?")
    assert result.status is ExitStatus.ANSWERED and result.steps == 3
    report = (run_dir / "report.md").read_text()
    assert report.startswith("# How often are thermometers recalibrated?")
    assert "[1]" in report and "## References" in report
    assert f"({CALIBRATION_URL}) — standards.example.org · tier 1" in report
    # The id the run never retrieved is gone from the text and reported, not referenced.
    assert "web_deadbeef" not in report.split("_1 citation(s) removed")[0]
    assert result.removed_citations == ("web_deadbeef",)
    assert all(s.cite_id in cite_ids_in(model.seen[-1]) for s in result.cited)

    ev = events(run_dir)
    kinds = [e["type"] for e in ev]
    assert kinds[0] == "run" and kinds[-1] == "end"
    assert kinds.count("tool_call") == kinds.count("observation") == 2
    models = [e for e in ev if e["type"] == "model"]
    assert len(models) == 3 and all(int(str(e["prompt_tokens"])) > 0 for e in models)
    assert ev[-1]["status"] == "answered" and ev[-1]["removed_citations"] == ["web_deadbeef"]
    assert all("t" in e and "time" in e for e in ev)


def test_every_cited_reference_was_retrieved(data: Path, tmp_path: Path) -> None:
    made_up = "<answer>Claim \\cite{web_0123abcd, web_89abcdef} and [web_aaaaaaaa].</answer>"
    result = make_agent(ScriptedModel([search("pressure gauge"), made_up]), data, tmp_path).run("q")
    assert result.status is ExitStatus.ANSWERED
    assert result.cited == ()
    assert set(result.removed_citations) == {"web_0123abcd", "web_89abcdef", "web_aaaaaaaa"}
    assert not re.search(r"web_[0-9a-f]{8}\b.*\]", (tmp_path / "report.md").read_text())


def _forever(model_delay: float = 0.0) -> ScriptedModel:
    return ScriptedModel([search("thermometer calibration")], repeat_last=True, delay=model_delay)


def test_step_budget_stops_a_run_that_would_loop_forever(data: Path, tmp_path: Path) -> None:
    model = _forever()
    result = make_agent(model, data, tmp_path, Budgets(max_steps=4)).run("q")
    assert result.status is ExitStatus.MAX_STEPS and result.steps == 4
    forced = [e for e in events(tmp_path) if e.get("forced")]
    assert len(forced) == 1 and forced[0]["forced"] == "steps"
    assert "No answer" in (tmp_path / "report.md").read_text()


def test_last_step_asks_for_the_answer_and_gets_it(data: Path, tmp_path: Path) -> None:
    def reply(messages: Sequence[Message]) -> str:
        if "This is your last step" in messages[-1].content:
            return _cite_found(messages)
        return search("thermometer calibration")

    result = make_agent(ScriptedModel([reply], True), data, tmp_path, Budgets(max_steps=3)).run("q")
    assert result.status is ExitStatus.FORCED_ANSWER and result.steps == 3
    assert result.cited


def test_context_budget_forces_the_answer_before_the_limit(data: Path, tmp_path: Path) -> None:
    budgets = Budgets(
        max_steps=100, max_context_tokens=4000, max_new_tokens=200, answer_reserve=300
    )
    model = _forever()
    result = make_agent(model, data, tmp_path, budgets).run("q")
    assert result.status is ExitStatus.MAX_CONTEXT
    prompts = [int(str(e["prompt_tokens"])) for e in events(tmp_path) if e["type"] == "model"]
    assert max(prompts) < 4000
    assert [e["forced"] for e in events(tmp_path) if e.get("forced")] == ["context"]


def test_wall_time_budget(data: Path, tmp_path: Path) -> None:
    start = time.monotonic()
    budgets = Budgets(max_steps=1000, wall_time_s=1.5)
    result = make_agent(_forever(0.2), data, tmp_path, budgets).run("q")
    assert result.status is ExitStatus.WALL_TIME
    assert time.monotonic() - start < 3.0


def test_tool_calls_per_step_are_capped(data: Path, tmp_path: Path) -> None:
    many = "\n".join(search(f"thermometer {i}") for i in range(20))
    model = ScriptedModel([many], repeat_last=True)
    result = make_agent(model, data, tmp_path, Budgets(max_steps=2, max_calls_per_step=3)).run("q")
    assert result.status is ExitStatus.MAX_STEPS
    ev = events(tmp_path)
    assert sum(e["type"] == "tool_call" for e in ev) == 3  # the forced last step ran none
    assert "only the first 3 ran" in model.seen[1][-2].content


def test_a_plain_reply_is_nudged_then_taken_as_the_answer(data: Path, tmp_path: Path) -> None:
    plain = "Thermometers are recalibrated every twelve months."
    model = ScriptedModel([plain], repeat_last=True)
    result = make_agent(model, data, tmp_path, Budgets(max_steps=5)).run("q")
    assert "neither a tool call nor an <answer>" in model.seen[1][-1].content
    # Reminded, it answered in plain text again: that is its answer.
    assert result.status is ExitStatus.ANSWERED and result.steps == 2
    assert result.reason == "answered without <answer> tags"
    assert result.answer == plain


def test_malformed_calls_become_observations(data: Path, tmp_path: Path) -> None:
    replies = [
        # No closing tag and no closing braces.
        '<tool_call>{"name": "batch_web_surfer", "arguments": {"action": "batch_search", '
        '"queries": ["pressure gauge dead-weight"]',
        # Single quotes inside a fenced block, no tags.
        "```json\n{'name': 'todo', 'arguments': {'action': 'add', 'items': ['read sources']}}\n```",
        "<tool_call>this is not json</tool_call>",
        '<tool_call>{"name": "teleport", "arguments": {}}</tool_call>',
        '<tool_call>{"name": "file", "arguments": {"action": "read"}}</tool_call>',
        '<tool_call>{"name": "file", "arguments": "{\\"action\\": \\"list\\"}"}</tool_call>',
        "<answer>Gauges are checked at five points.",  # no closing tag
    ]
    model = ScriptedModel(replies)
    agent: Agent = make_agent(model, data, tmp_path, Budgets(max_steps=10))
    result = agent.run("q")
    assert result.status is ExitStatus.ANSWERED and result.steps == 7
    obs = [m[-1].content for m in model.seen[1:]]
    assert "<batch_search_results>" in obs[0]
    assert "read sources" in obs[1]
    assert "not understood" in obs[2] and "<tool_call>" in obs[2]
    assert "unknown tool 'teleport'" in obs[3]
    assert 'missing argument "path"' in obs[4]
    assert "todo.json" in obs[5]
    assert result.answer == "Gauges are checked at five points."


def test_seed_search_shows_sources_before_the_first_step(data: Path, tmp_path: Path) -> None:
    from stepdr.agent.context import Presenter
    from stepdr.agent.tools.base import Toolbox
    from stepdr.agent.tools.surfer import LocalBackend, WebSurferTool, search_first
    from stepdr.agent.tools.workspace import Workspace

    ws = Workspace(tmp_path / "workspace")
    toolbox = Toolbox([WebSurferTool(LocalBackend(data))])
    model = ScriptedModel([_cite_found])
    agent = Agent(model, toolbox, Presenter(ws), tmp_path, opening=search_first)
    result = agent.run("How often are liquid-in-glass thermometers recalibrated?")
    assert result.status is ExitStatus.ANSWERED and result.steps == 1 and result.cited
    first = model.seen[0]
    assert [m.role for m in first] == ["system", "user", "user"]
    assert first[2].content.startswith("[agent] A first search for the question")
    example = re.search(r"like \\cite\{(web_[0-9a-f]{8})\}", first[2].content)
    assert example and example.group(1) in cite_ids_in(first[2:])
    calls = [e for e in events(tmp_path) if e["type"] == "tool_call"]
    assert calls[0]["call_id"] == "s0c1" and calls[0]["step"] == 0


def test_a_repeated_search_is_not_run_again(data: Path, tmp_path: Path) -> None:
    same = call("batch_web_surfer", action="batch_search", queries=["gauge", "tester"])
    reordered = call("batch_web_surfer", action="batch_search", queries=["tester", "gauge"], topk=5)
    model = ScriptedModel([same, reordered, "<answer>done</answer>"])
    result = make_agent(model, data, tmp_path).run("q")
    assert result.status is ExitStatus.ANSWERED
    assert "repeats s1c1 exactly" in model.seen[2][-1].content
    observations = [e for e in events(tmp_path) if e["type"] == "observation"]
    assert [e.get("repeat_of") for e in observations] == [None, "s1c1"]


LONG_PLAIN = (
    "Liquid-in-glass thermometers used as working standards are recalibrated every twelve "
    "months against a reference thermometer, at the ice point and at two further points "
    "across their range. Platinum resistance thermometers are more stable and may wait "
    "twenty-four months between calibrations, provided their ice-point checks stay within "
    "tolerance. Any instrument that is dropped or overheated is recalibrated before use."
)


def test_a_full_plain_reply_after_a_search_is_the_answer(data: Path, tmp_path: Path) -> None:
    model = ScriptedModel([search("thermometer recalibrated"), LONG_PLAIN])
    result = make_agent(model, data, tmp_path, Budgets(max_steps=5)).run("q")
    assert result.status is ExitStatus.ANSWERED and result.steps == 2
    assert result.reason == "answered without <answer> tags"
    assert result.answer == LONG_PLAIN


def test_a_full_plain_reply_before_any_search_is_nudged(data: Path, tmp_path: Path) -> None:
    model = ScriptedModel([LONG_PLAIN, "<answer>Twelve months.</answer>"])
    result = make_agent(model, data, tmp_path, Budgets(max_steps=5)).run("q")
    assert result.steps == 2 and result.answer == "Twelve months."
    assert "neither a tool call nor an <answer>" in model.seen[1][-1].content


def test_an_answer_that_repeats_the_request_is_no_answer(data: Path, tmp_path: Path) -> None:
    def echo(messages: Sequence[Message]) -> str:
        if "This is your last step" in messages[-1].content:
            # What a 0.5B model did: copy the request, with a run of ids, as its "report".
            ids = ", ".join(cite_ids_in(messages) * 3)
            return f"```markdown\n<answer>\n{messages[-1].content[8:]} \\cite{{{ids}"
        return search("thermometer calibration")

    result = make_agent(ScriptedModel([echo], True), data, tmp_path, Budgets(max_steps=2)).run("q")
    assert result.status is ExitStatus.MAX_STEPS and result.answer is None
    assert "the model did not answer" in result.reason


def test_an_answer_quoting_the_sources_is_not_an_echo(data: Path, tmp_path: Path) -> None:
    def quote(messages: Sequence[Message]) -> str:
        shown = messages[-1].content
        assert "<tool_response>" in shown
        # Copy a long run of words from the search results, as extractive answers do.
        body = re.sub(r"\s+", " ", shown.split("<content>\n", 1)[-1])[:400]
        return f"<answer>{body}</answer>"

    model = ScriptedModel([search("thermometer calibration"), quote])
    result = make_agent(model, data, tmp_path, Budgets(max_steps=5)).run("q")
    assert result.status is ExitStatus.ANSWERED and result.answer


def test_the_prompt_examples_placeholder_search_is_not_run(data: Path, tmp_path: Path) -> None:
    # What a 0.5B model did when reminded of the format: copy the example call verbatim.
    copied = call(
        "batch_web_surfer", action="batch_search", queries=["first query", "Second query"]
    )
    model = ScriptedModel([copied, "<answer>done</answer>"])
    result = make_agent(model, data, tmp_path).run("q")
    assert result.status is ExitStatus.ANSWERED
    assert "placeholders, not a search: nothing ran" in model.seen[1][-1].content
    (obs,) = [e for e in events(tmp_path) if e["type"] == "observation"]
    assert obs["placeholder"] is True and obs["sources"] == [] and not obs["ok"]
    # A real search that happens to include the words still runs.
    real = call("batch_web_surfer", action="batch_search", queries=["first query", "gauge"])
    model = ScriptedModel([real, "<answer>done</answer>"])
    make_agent(model, data, tmp_path / "real").run("q")
    assert "<batch_search_results>" in model.seen[1][-1].content


def test_an_earlier_plain_answer_is_kept_when_the_last_step_calls_a_tool(
    data: Path, tmp_path: Path
) -> None:
    short = "Thermometers are recalibrated every twelve months."
    replies = [search("thermometer recalibrated"), short, search("thermometer again")]
    model = ScriptedModel(replies)
    result = make_agent(model, data, tmp_path, Budgets(max_steps=3)).run("q")
    assert "This is your last step" in model.seen[2][-1].content
    assert result.status is ExitStatus.FORCED_ANSWER and result.answer == short
    assert result.reason.endswith("the model did not answer; its last plain reply is the report")
    assert short in (tmp_path / "report.md").read_text()


def test_an_echoed_answer_is_told_so_and_the_run_goes_on(data: Path, tmp_path: Path) -> None:
    def echo(messages: Sequence[Message]) -> str:
        return f"<answer>{messages[0].content[:300]}</answer>"  # the system prompt, copied

    model = ScriptedModel([search("thermometer"), echo, "<answer>Twelve months.</answer>"])
    result = make_agent(model, data, tmp_path, Budgets(max_steps=5)).run("q")
    assert "repeats the agent's own words; it is not a report" in model.seen[2][-1].content
    assert result.status is ExitStatus.ANSWERED and result.answer == "Twelve months."


def test_strict_answers_take_only_the_answer_tag(data: Path, tmp_path: Path) -> None:
    from stepdr.agent.answers import StrictAnswers

    replies = [search("thermometer recalibrated"), LONG_PLAIN, "<answer>Twelve months.</answer>"]
    model = ScriptedModel(replies)
    agent = make_agent(model, data, tmp_path, Budgets(max_steps=5))
    agent.answers = StrictAnswers()
    result = agent.run("q")
    # The lenient policy would have taken LONG_PLAIN at step 2; the strict one nudges.
    assert "neither a tool call nor an <answer>" in model.seen[2][-1].content
    assert result.status is ExitStatus.ANSWERED and result.answer == "Twelve months."
    short = "Thermometers are recalibrated every twelve months."
    model = ScriptedModel([search("thermometer"), short, search("thermometer again")])
    agent = make_agent(model, data, tmp_path / "forced", Budgets(max_steps=3))
    agent.answers = StrictAnswers()
    result = agent.run("q")
    assert result.status is ExitStatus.MAX_STEPS and result.answer is None  # no fallback


def test_a_resumed_run_still_refuses_a_search_it_ran_before(data: Path, tmp_path: Path) -> None:
    def interrupt(_: Sequence[Message]) -> str:
        raise KeyboardInterrupt

    same = call("batch_web_surfer", action="batch_search", queries=["gauge", "tester"])
    first = make_agent(ScriptedModel([same, interrupt]), data, tmp_path).run("q")
    assert first.status is ExitStatus.INTERRUPTED
    model = ScriptedModel([same, "<answer>done</answer>"])
    assert make_agent(model, data, tmp_path).resume().status is ExitStatus.ANSWERED
    assert "repeats s1c1 exactly" in model.seen[1][-1].content
    observations = [e for e in events(tmp_path) if e["type"] == "observation"]
    assert [e.get("repeat_of") for e in observations] == [None, "s1c1"]
