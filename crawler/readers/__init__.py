"""Readers: one per source shape, named by a source's ``spider`` value in the sources file.

A reader knows how one shape of aggregator is read (which requests, what an answer holds); the
spider (``crawler.spiders.sources``) owns the requests' callbacks and reporting, and every
reader settles article pages, summaries and keep/block rules the same way
(``crawler.readers.pages``).
"""

from crawler.readers.feed import FeedReader
from crawler.readers.lists import HtmlListReader, JsonListReader

READERS = {"feed": FeedReader, "html": HtmlListReader, "json": JsonListReader, "qutoutiao": JsonListReader}
