"""The agent: a small ReAct loop over a Model and a Toolbox, both injected.

Each step the model replies; the reply's tool calls run and their outputs come back as
one observation message; a reply with an ``<answer>`` and no call ends the run.  Every
budget stops the loop with its own exit status, and the answer is asked for *before* a
budget runs out: on the last step, when the time left is less than a step takes, and
when the conversation is within ``answer_reserve`` tokens of the context limit.
Everything is written to the trajectory as it happens, so ``resume`` can pick a run up
from its last event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import prompt
from .context import Presenter
from .errors import ModelError, TrajectoryError
from .models.base import Model
from .parse import parse_reply
from .records import Budgets, ExitStatus, Message, RunResult, Source, ToolCall
from .report import render_report
from .state import (
    RunState,
    accepted_answer,
    is_placeholder_search,
    last_plain_answer,
    learn_sources,
    search_signature,
)
from .tools.base import Toolbox
from .trajectory import FILE, FORMAT, Trajectory, read_events

REPORT = "report.md"
SEARCH_TOOL = "batch_web_surfer"
MIN_ROOM = 16  # fewer free tokens than this and no reply is worth asking for
FORCED_STATUS = {
    "steps": ExitStatus.MAX_STEPS,
    "time": ExitStatus.WALL_TIME,
    "context": ExitStatus.MAX_CONTEXT,
}
Listener = Callable[[dict[str, Any]], None]


class Agent:
    def __init__(
        self,
        model: Model,
        toolbox: Toolbox,
        presenter: Presenter,
        run_dir: Path,
        budgets: Budgets | None = None,
        listener: Listener | None = None,
        seed_search: bool = False,
    ) -> None:
        self.model = model
        self.toolbox = toolbox
        self.presenter = presenter
        self.run_dir = run_dir
        self.budgets = budgets or Budgets()
        self.listener = listener
        self.seed_search = seed_search
        self.traj: Trajectory | None = None

    # -- entry points -------------------------------------------------------------------

    def run(self, question: str, config: dict[str, Any] | None = None) -> RunResult:
        if (self.run_dir / FILE).exists():
            raise TrajectoryError(f"{self.run_dir} already holds a run; resume it instead")
        self.traj = Trajectory(self.run_dir / FILE)
        st = RunState(question)
        self._emit(type="run", format=FORMAT, question=question, model=self.model.name,
                   budgets=self.budgets.to_dict(), tools=self.toolbox.status(),
                   config=config or {})  # fmt: skip
        self._say(st, "system", prompt.system_prompt(self.toolbox.describe()))
        self._say(st, "user", question)
        return self._guarded(st, self._seeded)

    def _seeded(self, st: RunState) -> RunResult:
        """Search the question itself first: small models often answer from memory instead."""
        if self.seed_search and SEARCH_TOOL in self.toolbox.tools:
            query = " ".join(st.question.split())[:1000]
            seed = ToolCall(SEARCH_TOOL, {"action": "batch_search", "queries": [query]})
            shown = self._call(st, "s0c1", seed, {})
            head = "[agent] A first search for the question"
            if st.sources:  # a worked example of the citation form, with a real id
                head += f"; cite its results by their ids, like \\cite{{{next(iter(st.sources))}}}"
            # The results come last: small models continue from what they saw last, and
            # an instruction there gets parroted back instead of followed.
            self._say(st, "user", f"{head}:\n\n{shown}")
        return self._loop(st)

    def resume(self) -> RunResult:
        events = read_events(self.run_dir / FILE, repair=True)
        end = next((e for e in reversed(events) if e["type"] == "end"), None)
        if end is not None and ExitStatus(end["status"]).answered:
            raise TrajectoryError(f"{self.run_dir}: the run already ended ({end['status']})")
        st = RunState(events[0]["question"])
        observed: dict[str, dict[str, Any]] = {}
        for e in events:
            if e["type"] == "message":
                st.messages.append(Message(e["role"], e["content"]))
                st.step = max(st.step, int(e.get("step", 0)))
            elif e["type"] == "observation":
                observed[e["call_id"]] = e
                learn_sources(st.sources, [Source.from_dict(s) for s in e["sources"]])
            elif e["type"] == "tool_call" and e["name"] == SEARCH_TOOL:
                st.searches.setdefault(search_signature(e["arguments"]), e["call_id"])
            elif e["type"] == "model":
                st.slowest_step = max(st.slowest_step, float(e["seconds"]))
        # A budget that forced the answer before may be larger now: the loop decides afresh.
        st.forced = None
        self.traj = Trajectory(self.run_dir / FILE, elapsed_before=float(events[-1]["t"]))
        self._emit(type="resume", after_step=st.step, budgets=self.budgets.to_dict())
        last = st.messages[-1]

        def go(st: RunState) -> RunResult:
            if last.role == "assistant":  # the crash came between a reply and its observation
                done = self._handle(st, last.content, observed)
                if done is not None:
                    return done
            return self._loop(st)

        return self._guarded(st, go)

    # -- the loop -----------------------------------------------------------------------

    def _guarded(self, st: RunState, body: Callable[[RunState], RunResult]) -> RunResult:
        try:
            return body(st)
        except KeyboardInterrupt:
            return self._end(st, ExitStatus.INTERRUPTED, "interrupted; resume to continue")
        finally:
            self.toolbox.close()
            if self.traj is not None:
                self.traj.close()

    def _loop(self, st: RunState) -> RunResult:
        b = self.budgets
        assert self.traj is not None
        while True:
            if st.step >= b.max_steps:
                return self._end(st, ExitStatus.MAX_STEPS, f"no answer within {b.max_steps} steps")
            if self.traj.elapsed() >= b.wall_time_s:
                return self._end(st, ExitStatus.WALL_TIME, f"no answer within {b.wall_time_s:g} s")
            n_prompt = self.model.count_tokens(st.messages)
            if st.forced is None:
                why = self._force_reason(st, n_prompt)
                if why is not None:
                    st.forced = why
                    self._say(st, "user", prompt.force_answer(why), forced=why)
                    n_prompt = self.model.count_tokens(st.messages)
            room = b.max_context_tokens - n_prompt
            if room < MIN_ROOM:
                return self._end(
                    st, ExitStatus.MAX_CONTEXT,
                    f"the conversation ({n_prompt} tokens) filled the context "
                    f"({b.max_context_tokens}) before an answer",
                )  # fmt: skip
            deadline = time.monotonic() + (b.wall_time_s - self.traj.elapsed())
            try:
                reply = self.model.complete(st.messages, min(b.max_new_tokens, room), deadline)
            except ModelError as e:
                return self._end(st, ExitStatus.MODEL_ERROR, str(e))
            st.step += 1
            st.slowest_step = max(st.slowest_step, reply.seconds)
            self._emit(type="model", step=st.step, prompt_tokens=reply.prompt_tokens,
                       completion_tokens=reply.completion_tokens,
                       seconds=round(reply.seconds, 3))  # fmt: skip
            self._say(st, "assistant", reply.text)
            done = self._handle(st, reply.text, {})
            if done is not None:
                return done

    def _force_reason(self, st: RunState, n_prompt: int) -> str | None:
        b = self.budgets
        assert self.traj is not None
        if st.step >= b.max_steps - 1:
            return "steps"
        # Room for this step and one more, in which the answer gets written.
        if self.traj.elapsed() + 2 * st.slowest_step >= b.wall_time_s:
            return "time"
        if n_prompt + b.answer_reserve >= b.max_context_tokens:
            return "context"
        return None

    def _handle(
        self, st: RunState, text: str, observed: dict[str, dict[str, Any]]
    ) -> RunResult | None:
        """Act on one reply: finish on an answer, else run its calls and add the observation."""
        parsed = parse_reply(text)
        echo = False
        if not parsed.calls:
            answer, reason, echo = accepted_answer(st, parsed)
            if answer:
                status = ExitStatus.FORCED_ANSWER if st.forced else ExitStatus.ANSWERED
                if st.forced:
                    reason = f"{reason} when {st.forced} ran low"
                return self._end(st, status, reason, answer)
        if st.forced is not None:
            why = f"asked to answer as the {st.forced} budget ran low, the model did not answer"
            kept = last_plain_answer(st.messages)
            if kept is not None:
                why += "; its last plain reply is the report"
                return self._end(st, ExitStatus.FORCED_ANSWER, why, kept)
            return self._end(st, FORCED_STATUS[st.forced], why)
        blocks = [f"[agent] {err}" for err in parsed.errors]
        calls = list(parsed.calls)
        limit = self.budgets.max_calls_per_step
        if len(calls) > limit:
            blocks.append(
                f"[agent] {len(calls)} tool calls in one step; only the first {limit} ran. "
                "Make fewer calls per step (batch queries in one call instead)."
            )
            calls = calls[:limit]
        if parsed.answer is not None and calls:
            blocks.append("[agent] The <answer> was ignored: give it alone, without tool calls.")
        for i, call in enumerate(calls, 1):
            blocks.append(self._call(st, f"s{st.step}c{i}", call, observed))
        if not calls and not parsed.errors:
            blocks.append(prompt.echo_note() if echo else prompt.nudge())
        self._say(st, "user", "\n\n".join(blocks))
        return None

    def _call(
        self, st: RunState, call_id: str, call: ToolCall, observed: dict[str, dict[str, Any]]
    ) -> str:
        old = observed.get(call_id)
        if old is not None:  # done before the crash: do not run it twice
            return str(old["text"])
        self._emit(type="tool_call", step=st.step, call_id=call_id, name=call.name,
                   arguments=call.arguments)  # fmt: skip
        if call.name == SEARCH_TOOL:
            if is_placeholder_search(call.arguments):
                return self._refuse(st, call_id, call, prompt.placeholder_note(), placeholder=True)
            first = st.searches.setdefault(search_signature(call.arguments), call_id)
            if first != call_id:  # the index does not change during a run: say so, save time
                note = (
                    f"[agent] This call repeats {first} exactly; its result is above. Search "
                    "for something else, open a page from the results, or answer."
                )
                return self._refuse(st, call_id, call, note, repeat_of=first)
        start = time.monotonic()
        out = self.toolbox.run(call)
        seconds = time.monotonic() - start
        learn_sources(st.sources, out.sources)
        shown = self.presenter.present(call.name, call_id, out.ok, out.text)
        self._emit(type="observation", step=st.step, call_id=call_id, tool=call.name,
                   ok=out.ok, chars=len(out.text), saved_to=shown.saved_to,
                   seconds=round(seconds, 3), sources=[s.to_dict() for s in out.sources],
                   text=shown.text)  # fmt: skip
        return shown.text

    def _refuse(self, st: RunState, call_id: str, call: ToolCall, note: str, **why: Any) -> str:
        self._emit(type="observation", step=st.step, call_id=call_id, tool=call.name, ok=False,
                   chars=0, saved_to=None, seconds=0.0, sources=[], text=note, **why)  # fmt: skip
        return note

    # -- records ------------------------------------------------------------------------

    def _say(self, st: RunState, role: str, content: str, **extra: Any) -> None:
        st.messages.append(Message(role, content))
        self._emit(type="message", step=st.step, role=role, content=content, **extra)

    def _emit(self, **event: Any) -> None:
        assert self.traj is not None
        written = self.traj.write(event)
        if self.listener is not None:
            self.listener(written)

    def _end(
        self, st: RunState, status: ExitStatus, reason: str, answer: str | None = None
    ) -> RunResult:
        assert self.traj is not None
        report = render_report(st.question, answer, st.sources, status.value, reason)
        path = self.run_dir / REPORT
        tmp = path.with_suffix(".tmp")
        tmp.write_text(report.markdown, encoding="utf-8")
        tmp.replace(path)
        seconds = self.traj.elapsed()
        self._emit(type="end", status=status.value, reason=reason, steps=st.step,
                   seconds=round(seconds, 3), report=REPORT,
                   cited=[s.cite_id for s in report.cited],
                   removed_citations=list(report.removed))  # fmt: skip
        return RunResult(status, reason, self.run_dir, st.step, seconds, answer, path,
                         report.removed, report.cited)  # fmt: skip
