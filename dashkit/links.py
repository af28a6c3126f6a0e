"""Where dashkit says its pages are: addresses written from a template, as Dask does.

Dask writes its dashboard's address from the ``distributed.dashboard.link``
template (``{scheme}://{host}:{port}/status`` by default), whose fields may
also name environment variables, so that behind a proxy (JupyterHub, a
platform) the address printed is one a browser can open. dashkit does the
same for its own pages, with ``--link`` or ``$DASHKIT_LINK``.

Example
-------
>>> link("{scheme}://{host}:{port}/{page}", host="127.0.0.1", port=5006, page="status")
'http://127.0.0.1:5006/status'
>>> link("/user/{USER}/proxy/{port}/{page}", host="0.0.0.0", port=8080, page="status",
...      environ={"USER": "ada"})
'/user/ada/proxy/8080/status'
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping

#: How dashkit writes the address of a page unless told otherwise.
DEFAULT_LINK = "{scheme}://{host}:{port}/{page}"


def link(template: str, host: str, port: int, page: str, scheme: str = "http",
         environ: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """``template`` with ``{scheme}``, ``{host}``, ``{port}``, ``{page}`` and any
    environment variable (``{USER}``) filled in.

    Raises ValueError naming the field when one is neither.
    """
    environ = os.environ if environ is None else environ
    fields = {**environ, "scheme": scheme, "host": host, "port": port, "page": page}
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ValueError(f"link template {template!r}: {err}") from None
    for _text, name, _spec, _conversion in parsed:
        if name is None:
            continue
        if not name or not name.isidentifier():
            raise ValueError(f"link template {template!r}: {{{name}}} is not a field; fields are "
                             "{scheme}, {host}, {port}, {page} and environment variables")
        if name not in fields:
            raise ValueError(f"link template {template!r}: {{{name}}} is neither {{scheme}}, "
                             "{host}, {port}, {page} nor a variable of the environment")
    return template.format_map(fields)
