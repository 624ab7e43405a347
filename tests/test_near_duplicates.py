"""One story, one post: near-duplicates across sources, measured on a labelled set and crawled
end to end on loopback."""

from __future__ import annotations

from collections import Counter

import frontmatter
import pytest

from crawler.neardup import BANDS, ROWS, Signer
from crawler.settings import DUPLICATE_THRESHOLD
from tests.near_duplicates import SITE_BOILERPLATE, labelled_pairs
from tests.test_crawl import feed_xml
from tests.test_hostile import by_name

RSS = "application/rss+xml; charset=utf-8"


def judged(signer: Signer, first: str, second: str) -> bool:
    """The pipeline's verdict on a pair: a shared LSH band, then containment over the threshold."""
    a, b = signer.sign(first), signer.sign(second)
    if a is None or b is None:
        return False
    share_band = bool(set(a.bands()) & set(b.bands()))
    return share_band and a.containment(b) >= DUPLICATE_THRESHOLD


def test_the_labelled_set_meets_precision_and_recall_at_the_default_threshold():
    signer = Signer()
    outcomes, missed = Counter(), Counter()
    for first, second, same, kind in labelled_pairs():
        verdict = judged(signer, first, second)
        outcomes[(verdict, same)] += 1
        if same and not verdict:
            missed[kind] += 1
    true_positives, false_positives = outcomes[(True, True)], outcomes[(True, False)]
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + outcomes[(False, True)])
    print(f"precision {precision:.3f}, recall {recall:.3f}, missed by kind: {dict(missed)}")
    assert precision >= 0.98 and recall >= 0.9
    # what is missed is a short story inside a copy up to twice its size (boilerplate added)
    assert set(missed) <= {"boilerplate added", "boilerplate, paragraph dropped"}


def test_signatures_survive_the_state_and_short_texts_are_not_compared():
    signer = Signer()
    body = "<p>澄湖市图书馆从下个月开始延长周末开放时间，自习室也增加一百个座位。</p>"
    signature = signer.sign(body)
    again = type(signature).from_bytes(signature.to_bytes(), signature.size)
    assert again.containment(signature) == 1.0 and again.bands() == signature.bands()
    assert len(signature.bands()) == BANDS and len(signature.values) >= BANDS * ROWS
    assert signer.sign("<p>今日天气晴。</p>") is None


def test_signatures_are_datasketchs_affine32_so_stored_ones_stay_comparable():
    """Earlier versions signed with datasketch; the state still holds their signatures."""
    from datasketch import MinHash

    from crawler.neardup import PERMUTATIONS, SEED, shingle_hashes, text_of

    signer = Signer()
    reference = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme="affine32").permutations
    stories = [first for first, _, _, _ in labelled_pairs()]
    texts = stories[:60] + ["".join(stories)]  # the last longer than Signer.CHUNK 3-grams
    assert len(shingle_hashes(text_of(texts[-1]))) > Signer.CHUNK
    for text in texts:
        signature = signer.sign(text)
        expected = MinHash(num_perm=PERMUTATIONS, seed=SEED, permutations=reference, scheme="affine32",
                           hashfunc=int)
        expected.update_batch(shingle_hashes(text_of(text)).tolist())
        assert signature.values.tolist() == expected.hashvalues.tolist()


STORY = ("<p>澄湖市交通集团昨天宣布，N5 路夜班公交从下周一起延伸到西河村，末班车发车时间推迟到凌晨一点。</p>"
         "<p>西河村住着不少在餐馆和医院上夜班的年轻人，以前下班只能打车或者骑电动车回家，一个月要多花好几百元。</p>"
         "<p>交通集团表示，试运行三个月后会根据客流决定是否增加班次，市民也可以在澄湖 App 上留言提出建议。</p>")
OTHER = ("<p>第五届澄湖半程马拉松开始报名，比赛定在十一月十日，起点和终点都在奥体中心，今年名额一万两千个。</p>"
         "<p>报名人数超过名额时将抽签决定，赛道沿湖滨路绕行，比去年少了两个上坡，更适合第一次参赛的跑者。</p>")


def item(n: int, title: str, body: str) -> str:
    return (f"<item><title><![CDATA[{title}]]></title><description><![CDATA[{body}]]></description>"
            f"<pubDate>Tue, 22 Jun 2021 10:54:49 GMT</pubDate><guid>{{BASE}}/{n}</guid><link>{{BASE}}/{n}</link></item>")


def two_sources(base: str, extra: str = "") -> str:
    return (f"[settings]\n{extra}\n"
            f'[[sources]]\nname = "paper"\nspider = "feed"\nurl = "{base}/paper.xml"\ncategories = ["新闻", "日报", "本地"]\n\n'
            f'[[sources]]\nname = "portal"\nspider = "feed"\nurl = "{base}/portal.xml"\ncategories = ["新闻", "门户", "转载"]\n')


@pytest.fixture
def syndicated(server):
    server.add("/paper.xml", feed_xml(item(1, "夜班公交开进西河村", STORY)), content_type=RSS)
    # the portal republishes it under its own URL and headline, inside its boilerplate
    copy = SITE_BOILERPLATE["head"] + STORY.replace("<p>", '<p class="txt">') + SITE_BOILERPLATE["tail"]
    server.add("/portal.xml", feed_xml(item(2, "好消息！N5 夜班车延长到凌晨一点", copy) + item(3, "半马报名开始", OTHER)),
               content_type=RSS)
    return server


def test_the_same_story_from_two_sources_makes_one_post_and_the_decision_stays(syndicated, crawl):
    config = two_sources(syndicated.base_url)
    first = crawl(config)
    assert first.returncode == 0, first.stderr
    posts = first.posts()
    titles = {frontmatter.loads(t)["title"]: path for path, t in posts.items()}
    # whichever copy arrived first is the post; the other is recorded as its copy
    assert len(titles) == 2 and "半马报名开始" in titles
    [(written, path)] = [(t, p) for t, p in titles.items() if t != "半马报名开始"]
    copies = [(name, c) for name, s in by_name(first.data).items() for c in s["near_duplicates"]]
    assert len(copies) == 1
    name, copy = copies[0]
    assert {written, copy["title"]} == {"夜班公交开进西河村", "好消息！N5 夜班车延长到凌晨一点"}
    assert copy["written"] is False and copy["original"] == path
    assert all(not s["failures"] for s in by_name(first.data).values())
    assert "1 near-duplicate of posts already written (1 not written)" in first.stdout

    for args in ((), ("--force",), ()):  # a rerun, a forced one, and a third: nothing changes
        syndicated.add("/paper.xml", feed_xml(item(1, "夜班公交开进西河村", STORY.replace("三个月", "半年"))),
                       content_type=RSS)  # the original is edited since: the copy stays a copy
        again = crawl(config, *args)
        assert again.returncode == 0, again.stderr
        assert set(again.posts()) == set(posts)


def test_keep_writes_the_copy_and_still_names_its_original(syndicated, crawl):
    result = crawl(two_sources(syndicated.base_url, 'DUPLICATES = "keep"'))
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 3
    [copy] = [c for s in by_name(result.data).values() for c in s["near_duplicates"]]
    assert copy["written"] is True and copy["original"] in result.posts()


def test_a_window_of_zero_days_compares_nothing_written_before(syndicated, crawl, tmp_path):
    data = tmp_path / "d"
    paper = crawl(two_sources(syndicated.base_url).split("[[sources]]\nname = \"portal\"")[0], data=data)
    assert paper.returncode == 0
    both = crawl(two_sources(syndicated.base_url, "DUPLICATE_WINDOW_DAYS = 0"), data=data)
    assert both.returncode == 0 and len(both.posts()) == 3


def test_off_compares_nothing(syndicated, crawl):
    result = crawl(two_sources(syndicated.base_url, 'DUPLICATES = "off"'))
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 3
    assert all(not s["near_duplicates"] for s in by_name(result.data).values())


def test_a_story_and_its_copy_in_one_feed_make_one_post(server, crawl):
    """The entries of one feed ask for their candidates together and hear back together: the
    copy is still compared with the story signed just before it."""
    copy = SITE_BOILERPLATE["head"] + STORY.replace("<p>", '<p class="txt">') + SITE_BOILERPLATE["tail"]
    server.add("/paper.xml", feed_xml(item(1, "夜班公交开进西河村", STORY) + item(2, "好消息！N5 夜班车延长到凌晨一点", copy)
                                      + item(3, "半马报名开始", OTHER)), content_type=RSS)
    result = crawl(two_sources(server.base_url).split("[[sources]]\nname = \"portal\"")[0])
    assert result.returncode == 0, result.stderr
    assert len(result.posts()) == 2
    [copy_seen] = [c for s in by_name(result.data).values() for c in s["near_duplicates"]]
    assert copy_seen["title"] == "好消息！N5 夜班车延长到凌晨一点" and copy_seen["original"] in result.posts()


def test_signed_meanwhile_keeps_signatures_only_while_a_question_waits():
    from datetime import datetime, timezone

    from pipelines.duplicates import SignedMeanwhile

    NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
    signer = Signer()
    story = signer.sign(STORY)
    meanwhile = SignedMeanwhile()
    meanwhile.signed("alone", [1], story, NOW)  # no question on its way: nothing to keep
    first, second = meanwhile.asking(), meanwhile.asking()
    meanwhile.signed("a", [1, 2], story, NOW)
    assert [key for key, *_ in meanwhile.answered(first)] == ["a"]
    third = meanwhile.asking()
    meanwhile.signed("b", [3], story, NOW)
    assert [key for key, *_ in meanwhile.answered(second)] == ["a", "b"]
    assert [key for key, *_ in meanwhile.answered(third)] == ["b"]
    assert meanwhile._signed == [] and not meanwhile._waiting
    assert meanwhile.answered(meanwhile.asking()) == []
