"""URL identity: one spelling per page, and whether a host lies under a listed name.

``canonical`` is the URL the crawler fetches, dedupes and journals.

Two links that differ only in fragment, tracking parameters, default port,
case of scheme or host, query order or percent-encoding case name the same
page, so they canonicalise to the same string and the page is fetched once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that only say where a click came from; the page is the same without them.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|gclid|dclid|gbraid|wbraid|fbclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl"
    r"|_hsenc|_hsmi|mkt_tok|igshid|ref_src|oly_enc_id|oly_anon_id|vero_id|__s)$",
    re.IGNORECASE,
)


# Already canonical: lower-case host, no port, userinfo, query, fragment, escapes or
# dot segments.  Most links on a site look like this; they skip the full work.
_PLAIN = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[A-Za-z0-9_~!$&'()*+,=:@-]+(?:\.[A-Za-z0-9_~!$&'()*+,=:@-]+)*)*/?"
)


@lru_cache(maxsize=1 << 16)  # the same navigation links come back on every page
def canonical(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None for anything else."""
    if _PLAIN.fullmatch(url):
        return url if url.count("/") > 2 else url + "/"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = "&".join(
        p for p in parts.query.split("&") if p and not _TRACKING.match(p.split("=", 1)[0])
    )
    rebuilt = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    try:
        return canonicalize_url(rebuilt, keep_fragments=False)
    except ValueError:
        return None


def host_in(host: str, names: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``names`` or a subdomain of one (``a.b.org`` is in ``b.org``)."""
    return any(host == n or host.endswith("." + n) for n in names)


__all__ = ["canonical", "host_in"]
