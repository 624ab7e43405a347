"""HTTP cache policy for list pages and feeds: always ask the server, conditionally.

Scrapy's RFC 2616 policy treats a response without explicit freshness as fresh for a tenth of
its age since ``Last-Modified`` (a browser heuristic): a feed last changed a year ago would not
be asked for again for five weeks. A scheduled run wants the opposite: honour an explicit
``max-age``/``Expires``, otherwise revalidate every time with ``If-None-Match`` /
``If-Modified-Since``, so an unchanged source costs one small 304.
"""

from __future__ import annotations

from scrapy.extensions.httpcache import RFC2616Policy


class RevalidatingPolicy(RFC2616Policy):
    def _compute_freshness_lifetime(self, response, request, now):
        cc = self._parse_cachecontrol(response)
        if self._get_max_age(cc) is not None or b"Expires" in response.headers:
            return super()._compute_freshness_lifetime(response, request, now)
        return 0
