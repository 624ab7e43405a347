from datetime import datetime, timedelta, timezone

import pytest

from crawler.dates import from_timestamp, not_in_future, parse_date

UTC = timezone.utc
EXPECTED = datetime(2021, 6, 22, 10, 54, 49, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 22 Jun 2021 10:54:49 GMT",
        "Tue, 22 Jun 2021 18:54:49 +0800",
        "2021-06-22T10:54:49Z",
        "2021-06-22T18:54:49+08:00",
        "2021-06-22 10:54:49",
        "1624359289",
        "1624359289000",
    ],
)
def test_each_written_form_reads_as_the_same_moment(text):
    assert parse_date(text) == EXPECTED


def test_chinese_dates_and_unreadable_ones():
    assert parse_date("2021年06月22日") == datetime(2021, 6, 22, tzinfo=UTC)
    assert parse_date("2021年6月22日 10:54") == datetime(2021, 6, 22, 10, 54, tzinfo=UTC)
    assert parse_date("昨天") is None
    assert parse_date("") is None
    assert from_timestamp("not a number") is None


def test_future_dates_are_treated_as_unknown():
    now = EXPECTED
    assert not_in_future(now + timedelta(days=3), now) is None
    assert not_in_future(now + timedelta(minutes=5), now) == now + timedelta(minutes=5)
