"""What a spider tells the run report about its sources, as Scrapy signals.

The spider sends these; the run report (``crawler.report.RunReport``) listens. Nothing calls
into the report, and a spider needs no reference to it: a crawl without the report extension
still runs.
"""

document_read = object()
"""A source's own document (a list page, the feed) was read and its entries listed.
Arguments: ``source`` (name), ``url``, ``listed`` (entries it names), ``known`` (of those,
articles an earlier run wrote, so neither fetched nor rendered again)."""

documents_read_before = object()
"""On ``--resume``: ``count`` documents of ``source`` were read before the interruption (the
dupe filter will not let them be read again, so they count as fetched)."""

document_failed = object()
"""A source's own document could not be used: ``source``, ``url``, ``reason``. The source counts
as not fetched."""

entry_failed = object()
"""An entry or article of ``source`` was lost: ``url`` (or where in the document), ``reason``."""

entry_blocked = object()
"""An entry of ``source`` left out by its keep/block rules: ``url``, ``title``, ``reason``."""
