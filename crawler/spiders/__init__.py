"""One spider per source shape: ``qutoutiao`` (list API + article pages) and ``feed``."""
