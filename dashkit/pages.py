"""Pages: whole servable views built from a Feed.

Example
-------
>>> from dashkit import Feed, SyntheticSource
>>> page = status_page(Feed(SyntheticSource(seed=1)))
"""

from __future__ import annotations

import panel as pn

from dashkit.feed import Feed
from dashkit.tables import FeedTables


def status_page(feed: Feed, title: str = "Dask status — dashkit") -> pn.template.BaseTemplate:
    """The status page of ``feed``'s cluster in a Panel template."""
    return pn.template.FastListTemplate(title=title, main=[FeedTables(feed=feed)])
