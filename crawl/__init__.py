"""Crawling: the domain list, the loopback mirror, the Scrapy spider and WARC writing.

The layers above import only the domain list from here (``stepdr.crawl.domains`` and
``stepdr.crawl.domains_yaml``); what every layer shares lives in ``stepdr.core``.
"""

from .domains import Domain, DomainSet, MirrorSpec
from .domains_yaml import load_domains

__all__ = ["Domain", "DomainSet", "MirrorSpec", "load_domains"]
