"""One spider for every source (``sources``), and one per source shape: ``feed``, ``html``,
``json`` and ``qutoutiao``."""
