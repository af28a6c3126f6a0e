"""Text from specs and users shown as HTML, never run as it.

A spec's ``info`` is markdown: rendered with raw HTML shown as text, and no
link made to a ``javascript:``, ``vbscript:``, ``file:`` or ``data:`` URL. A
``title`` is plain text. The served page and the offline export use the same
functions, so both show the same thing.

Example
-------
>>> markdown_html("**prod** <script>x()</script>")
'<p><strong>prod</strong> &lt;script&gt;x()&lt;/script&gt;</p>\\n'
>>> plain_html("<b>ETL</b> & ML")
'&lt;b&gt;ETL&lt;/b&gt; &amp; ML'
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

# "commonmark" with html off: raw HTML becomes text. Its link check refuses
# script and local-file URLs.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown_html(text: str) -> str:
    """``text`` (markdown) as safe HTML."""
    return _MARKDOWN.render(text)


def plain_html(text: str) -> str:
    """``text`` shown as it is, as HTML."""
    return html.escape(text)
