"""Questions asked in one turn of the event loop, answered by one call for all of them.

In a shared run every article asks Redis for its claims and PostgreSQL for its record, and each
question is a round trip that holds up the crawl's thread. The items of one feed or list page
reach a pipeline step together (each is a task of its own, stepping in turn), so their questions
can wait for the end of the turn and travel as one: a Redis pipeline, one query for many keys.
An item alone in its turn costs what it did before.

Most articles come alone, though, one article page to a response. Where a round trip goes to
another process (PostgreSQL, Redis), a question may also wait a few milliseconds (``wait``)
for those of the next responses: the crawl's thread goes on with them meanwhile, where each
round trip would have held it up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Question = TypeVar("Question")
Answer = TypeVar("Answer")


class Coalesced(Generic[Question, Answer]):
    """``await coalesced(question)``: its answer, from ``answer_all(questions)`` called once for
    every question asked in the same turn, or within ``wait`` seconds of the first, answers in
    the order of the questions. What ``answer_all`` raises, every question it was asked for
    raises."""

    def __init__(self, answer_all: Callable[[list[Question]], Sequence[Answer]], wait: float = 0.0) -> None:
        self.answer_all = answer_all
        self.wait = wait
        self._asked: list[tuple[Question, asyncio.Future]] = []
        self.asked = 0
        self.calls = 0
        """Questions asked, and calls of ``answer_all`` made for them: how well it pays."""

    async def __call__(self, question: Question) -> Answer:
        loop = asyncio.get_running_loop()
        if not self._asked:
            if self.wait:
                loop.call_later(self.wait, self._answer)
            else:
                loop.call_soon(self._answer)  # after the tasks already due in this turn
        future = loop.create_future()
        self.asked += 1
        self._asked.append((question, future))
        return await future

    def _answer(self) -> None:
        asked, self._asked = self._asked, []
        self.calls += 1
        try:
            answers = list(self.answer_all([question for question, _ in asked]))
            if len(answers) != len(asked):
                raise RuntimeError(f"{len(answers)} answers to {len(asked)} questions")
        except Exception as exc:
            for _, future in asked:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(asked, answers):
            if not future.done():  # its task was cancelled meanwhile
                future.set_result(answer)
