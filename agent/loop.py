"""The agent: a small ReAct loop over a Model and a Toolbox, both injected.

Each step the model replies; the reply's tool calls run and their outputs come back as
one observation message; a reply the answer policy accepts ends the run.  Every budget
stops the loop with its own exit status, and the answer is asked for *before* a budget
runs out: on the last step, when the time left is less than a step takes, and when the
conversation is within ``answer_reserve`` tokens of the context limit.  Whatever ends
the run raises ``RunEnded``, caught once.  Everything is written to the trajectory as
it happens, so ``resume`` can pick a run up from its last event.  The loop knows no
tool by name: opening calls, refusals and answer leniency are given to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stepdr.core.errors import ModelError, TrajectoryError

from . import prompt
from .answers import AnswerPolicy, LenientAnswers, conclude
from .context import Presented, Presenter
from .models.base import Model
from .parse import parse_reply
from .records import Budgets, ExitStatus, OpeningCall, RunResult, ToolCall
from .report import render_report, write_report
from .state import RunEnded, RunState, own_words
from .tools.base import Toolbox
from .trajectory import FILE, FORMAT, Trajectory, read_events

REPORT = "report.md"
MIN_ROOM = 16  # fewer free tokens than this and no reply is worth asking for
Listener = Callable[[dict[str, Any]], None]
Opening = Callable[[str], Sequence[OpeningCall]]


@dataclass
class Agent:
    model: Model
    toolbox: Toolbox
    presenter: Presenter
    run_dir: Path
    budgets: Budgets = field(default_factory=Budgets)
    listener: Listener | None = None
    opening: Opening | None = None  # calls made before the model's first step
    answers: AnswerPolicy = field(default_factory=LenientAnswers)
    traj: Trajectory | None = field(default=None, init=False)

    def run(self, question: str, config: dict[str, Any] | None = None) -> RunResult:
        if (self.run_dir / FILE).exists():
            raise TrajectoryError(f"{self.run_dir} already holds a run; resume it instead")
        self.traj = Trajectory(self.run_dir / FILE)
        state = RunState(question)
        self._emit(
            type="run", format=FORMAT, question=question, model=self.model.name,
            budgets=self.budgets.to_dict(), tools=self.toolbox.status(), config=config or {},
        )  # fmt: skip
        self._say(state, "system", prompt.system_prompt(self.toolbox.describe()), own=True)
        self._say(state, "user", question)
        return self._guarded(state, self._open)

    def resume(self) -> RunResult:
        events = read_events(self.run_dir / FILE, repair=True)
        end = next((e for e in reversed(events) if e["type"] == "end"), None)
        if end is not None and ExitStatus(end["status"]).answered:
            raise TrajectoryError(f"{self.run_dir}: the run already ended ({end['status']})")
        state = RunState.replay(events)
        observed = {e["call_id"]: e for e in events if e["type"] == "observation"}
        self.toolbox.replay(events)
        self.traj = Trajectory(self.run_dir / FILE, elapsed_before=float(events[-1]["t"]))
        self._emit(type="resume", after_step=state.step, budgets=self.budgets.to_dict())
        last = state.messages[-1]

        def go(state: RunState) -> None:
            if last.role == "assistant":  # the crash came between a reply and its observation
                self._handle(state, last.content, observed)
            self._loop(state)

        return self._guarded(state, go)

    def _guarded(self, state: RunState, body: Callable[[RunState], None]) -> RunResult:
        try:
            body(state)
            raise AssertionError("the loop returned without ending the run")
        except RunEnded as e:
            return self._end(state, e.status, e.reason, e.answer)
        except KeyboardInterrupt:
            return self._end(state, ExitStatus.INTERRUPTED, "interrupted; resume to continue")
        finally:
            self.toolbox.close()
            if self.traj is not None:
                self.traj.close()

    def _open(self, state: RunState) -> None:
        """The opening calls, each shown with its line, results last: small models continue
        from what they saw last, and an instruction there gets parroted back instead."""
        for i, opening in enumerate(self.opening(state.question) if self.opening else (), 1):
            shown = self._call(state, f"s0c{i}", opening.call, {})
            head = opening.intro
            if state.sources:  # a worked example of the citation form, with a real id
                example = next(iter(state.sources))
                head += f"; cite its results by their ids, like \\cite{{{example}}}"
            self._say(state, "user", f"{head}:\n\n{shown}", own=head, note="opening")
        self._loop(state)

    def _loop(self, state: RunState) -> None:
        budgets = self.budgets
        assert self.traj is not None
        while True:
            spent = budgets.spent(state.step, self.traj.elapsed())
            if spent is not None:
                raise RunEnded(*spent)
            tokens = self.model.count_tokens(state.messages)
            if state.forced is None:
                elapsed = self.traj.elapsed()
                state.forced = budgets.running_low(state.step, elapsed, state.slowest_step, tokens)
                if state.forced is not None:
                    ask = prompt.force_answer(state.forced)
                    self._say(state, "user", ask, own=True, forced=state.forced)
                    tokens = self.model.count_tokens(state.messages)
            room = budgets.max_context_tokens - tokens
            if room < MIN_ROOM:
                limit = budgets.max_context_tokens
                why = f"the conversation ({tokens} tokens) filled the context ({limit})"
                raise RunEnded(ExitStatus.MAX_CONTEXT, why + " before an answer")
            deadline = time.monotonic() + (budgets.wall_time_s - self.traj.elapsed())
            try:
                new = min(budgets.max_new_tokens, room)
                reply = self.model.complete(state.messages, new, deadline)
            except ModelError as e:
                raise RunEnded(ExitStatus.MODEL_ERROR, str(e)) from None
            state.step += 1
            state.slowest_step = max(state.slowest_step, reply.seconds)
            self._emit(
                type="model", step=state.step, prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens, reused_tokens=reply.reused_tokens,
                seconds=round(reply.seconds, 3),
            )  # fmt: skip
            self._say(state, "assistant", reply.text)
            self._handle(state, reply.text, {})

    def _handle(self, state: RunState, text: str, observed: dict[str, dict[str, Any]]) -> None:
        """Act on one reply: end on an answer, else run its calls and add the observation."""
        parsed = parse_reply(text)
        echo = conclude(self.answers, state, parsed)  # raises RunEnded on an answer
        calls, notes = prompt.step_notes(parsed, self.budgets.max_calls_per_step)
        blocks = list(notes)
        for i, call in enumerate(calls, 1):
            blocks.append(self._call(state, f"s{state.step}c{i}", call, observed))
        note = None
        if not calls and not parsed.errors:
            note = "echo" if echo else "nudge"
            blocks.append(prompt.echo_note() if echo else prompt.nudge())
        content = "\n\n".join(blocks)
        self._say(state, "user", content, own=own_words(content).strip(), note=note)

    def _call(
        self, state: RunState, call_id: str, call: ToolCall, observed: dict[str, dict[str, Any]]
    ) -> str:
        old = observed.get(call_id)
        if old is not None:  # done before the crash: do not run it twice
            return str(old["text"])
        self._emit(
            type="tool_call", step=state.step, call_id=call_id, name=call.name,
            arguments=call.arguments,
        )  # fmt: skip
        start = time.monotonic()
        out = self.toolbox.run(call, call_id)
        if out.refused is not None:  # not run: the agent's own note, shown as it is
            shown, facts = Presented(out.text), {"chars": 0, "seconds": 0.0, **out.refused}
        else:
            state.learn(out.sources)
            shown = self.presenter.present(call.name, call_id, out.ok, out.text)
            facts = {"chars": len(out.text), "seconds": round(time.monotonic() - start, 3)}
            if out.evidence:
                facts["evidence"] = dict(out.evidence)
        self._emit(
            type="observation", step=state.step, call_id=call_id, tool=call.name, ok=out.ok,
            saved_to=shown.saved_to, sources=[s.to_dict() for s in out.sources],
            text=shown.text, **facts,
        )  # fmt: skip
        return shown.text

    def _say(
        self, state: RunState, role: str, content: str, own: bool | str = "", **extra: Any
    ) -> None:
        facts = state.add(role, content, own, extra.pop("note", None))
        self._emit(type="message", step=state.step, role=role, content=content, **facts, **extra)

    def _emit(self, **event: Any) -> None:
        assert self.traj is not None
        written = self.traj.write(event)
        if self.listener is not None:
            self.listener(written)

    def _end(
        self, state: RunState, status: ExitStatus, reason: str, answer: str | None = None
    ) -> RunResult:
        assert self.traj is not None
        report = render_report(state.question, answer, state.sources, status, reason)
        path = write_report(self.run_dir, report, REPORT)
        seconds = self.traj.elapsed()
        self._emit(
            type="end", status=status.value, reason=reason, steps=state.step,
            seconds=round(seconds, 3), report=REPORT, cited=[s.cite_id for s in report.cited],
            removed_citations=list(report.removed),
        )  # fmt: skip
        return RunResult(
            status, reason, self.run_dir, state.step, seconds, answer, path, report.removed,
            report.cited,
        )  # fmt: skip
