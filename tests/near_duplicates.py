"""A labelled set of article pairs for the near-duplicate detector, written for the tests.

The stories are the demo aggregator's (``crawler.demo.content``): short local news, the hard
case for shingles (a paragraph is a third of a story). Each story is syndicated in the ways
aggregators do it; each pair of different stories from one site carries that site's own
boilerplate, so shared boilerplate alone must not make a match.
"""

from __future__ import annotations

from itertools import combinations

from crawler.demo.content import ARTICLES

SITE_BOILERPLATE = {
    "head": "<p>来源：澄湖晚报客户端　记者 陈思远　编辑 王小雨</p>",
    "tail": ("<p>【免责声明】本文转载自合作媒体，仅代表作者观点，不代表本站立场。如有侵权请联系删除。</p>"
             "<p>关注澄湖晚报公众号，获取更多本地新闻。扫描下方二维码下载客户端，参与评论赢好礼。</p>"),
}
"""What a republishing site wraps around every story it carries."""

ADDED = ("<p>记者在现场看到，不少市民专门赶来参观，有人还带着孩子一起拍照留念。相关部门表示，"
         "后续会根据市民的意见继续改进。</p>")
"""A paragraph a republisher adds of its own."""


def _html(paragraphs, pictures=()) -> str:
    blocks = [f"<p>{p}</p>" for p in paragraphs]
    for index, picture in enumerate(pictures):
        blocks.insert(min(len(blocks), 2 * index + 1), f'<p><img src="https://cdn.example/{picture}"></p>')
    return "".join(blocks)


def _wrapped(body: str) -> str:
    return SITE_BOILERPLATE["head"] + body + SITE_BOILERPLATE["tail"]


def variants(article) -> dict[str, str]:
    """The same story as other sites carry it (the headline is not part of the text compared)."""
    paragraphs = list(article.paragraphs)
    shorter = paragraphs[:-1] if len(paragraphs) > 2 else [paragraphs[0]]
    return {
        "new headline": _html(paragraphs),
        "paragraph dropped": _html(shorter),
        "paragraph added": _html(paragraphs) + ADDED,
        "other images": _html(paragraphs, ["x1.jpg", "x2.jpg"]),
        "boilerplate added": _wrapped(_html(paragraphs)),
        "boilerplate, paragraph dropped": _wrapped(_html(shorter)),
    }


def labelled_pairs() -> list[tuple[str, str, bool, str]]:
    """``(first, second, same story, kind)`` for every pair of the set."""
    pairs = []
    for article in ARTICLES:
        original = _html(article.paragraphs, [p.name for p in article.pictures])
        for kind, body in variants(article).items():
            pairs.append((original, body, True, kind))
    for first, second in combinations(ARTICLES, 2):
        kind = "same site" if first.cid == second.cid else "other site"
        # both as one republisher carries them: the same boilerplate around different stories
        pairs.append((_wrapped(_html(first.paragraphs)), _wrapped(_html(second.paragraphs)), False, kind))
    return pairs
