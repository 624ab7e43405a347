"""Readers: one per source shape, named by a source's ``spider`` value in the sources file.

A reader knows how one shape of aggregator is read (which requests, what an answer holds); the
spider (``crawler.spiders.sources``) owns the requests' callbacks and reporting, so every
reader's answers go through the same steps whatever the shape.
"""

from crawler.readers.feed import FeedReader
from crawler.readers.listapi import ListApiReader

READERS = {"feed": FeedReader, "qutoutiao": ListApiReader}
