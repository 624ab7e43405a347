"""A bundled stand-in for the aggregators the crawler reads, for offline demos and tests.

``server`` serves invented articles (``content``) and generated images (``images``) in
the shapes the spiders expect: a Qutoutiao-style list API with lazy-image article pages,
RSSHub-style RSS, Atom and a GB18030-encoded feed. ``config.write_sources`` writes a
sources file pointing the spiders at a running instance.
"""
