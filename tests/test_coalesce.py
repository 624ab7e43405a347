"""Questions asked in one turn of the event loop travel together (crawler.coalesce)."""

from __future__ import annotations

import asyncio

import pytest

from crawler.coalesce import Coalesced


def squares_recording(calls: list[list[int]]):
    def answer_all(questions: list[int]) -> list[int]:
        calls.append(questions)
        return [q * q for q in questions]
    return Coalesced(answer_all)


def test_the_questions_of_one_turn_are_one_call_and_a_later_turn_another():
    calls: list[list[int]] = []
    square = squares_recording(calls)

    async def ask() -> tuple[list[int], int]:
        together = await asyncio.gather(square(2), square(3), square(2))
        return together, await square(5)

    assert asyncio.run(ask()) == ([4, 9, 4], 25)
    assert calls == [[2, 3, 2], [5]] and square.calls == 2


def test_with_a_wait_questions_of_later_turns_within_it_travel_with_the_first():
    calls: list[list[int]] = []

    def answer_all(questions: list[int]) -> list[int]:
        calls.append(questions)
        return [q * q for q in questions]

    square = Coalesced(answer_all, wait=0.05)

    async def later(delay: float, n: int) -> int:
        await asyncio.sleep(delay)
        return await square(n)

    async def ask() -> list[int]:
        # 2, then 3 a few turns later and 4 at 10 ms: one call; 5 at 150 ms, after it: another
        return await asyncio.gather(square(2), later(0, 3), later(0.01, 4), later(0.15, 5))

    assert asyncio.run(ask()) == [4, 9, 16, 25]
    assert calls == [[2, 3, 4], [5]]


def test_a_failed_call_fails_every_question_of_its_turn_and_the_next_turn_is_asked_again():
    attempts = []

    def answer_all(questions):
        attempts.append(questions)
        if len(attempts) == 1:
            raise ConnectionError("gone")
        return questions

    echo = Coalesced(answer_all)

    async def ask():
        first = await asyncio.gather(echo("a"), echo("b"), return_exceptions=True)
        return first, await echo("c")

    first, later = asyncio.run(ask())
    assert [type(e) for e in first] == [ConnectionError, ConnectionError] and later == "c"


def test_too_few_answers_is_an_error_rather_than_a_question_left_waiting():
    short = Coalesced(lambda questions: questions[:1])

    async def ask():
        return await asyncio.gather(short(1), short(2), return_exceptions=True)

    answers = asyncio.run(ask())
    assert all(isinstance(a, RuntimeError) for a in answers)


def test_a_cancelled_question_leaves_the_others_answered():
    calls: list[list[int]] = []
    square = squares_recording(calls)

    async def ask():
        doomed = asyncio.ensure_future(square(7))
        kept = asyncio.ensure_future(square(8))
        await asyncio.sleep(0)  # both asked
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await kept

    assert asyncio.run(ask()) == 64
