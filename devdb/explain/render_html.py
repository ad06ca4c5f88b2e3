"""One self-contained HTML page per run: plan trees with time and buffer bars.

Everything is inline (CSS, JavaScript, the report's JSON), so the page opens offline and can be
attached to a CI run as a single file. The template is ``devdb/templates/explain_report.html``.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

TEMPLATE = "explain_report.html"


def _template() -> str:
    return resources.files("devdb").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")


def embed_json(doc: Any) -> str:
    """JSON safe inside a <script> element: no ``</script>`` or ``<!--`` can end it early."""
    text = json.dumps(doc, default=str, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(doc: dict[str, Any]) -> str:
    """The page for a run document (``report.run_to_dict``)."""
    title = html.escape(f"{doc.get('database', '')} {doc.get('started_at', '')}".strip())
    return _template().replace("__TITLE__", title).replace("__DATA__", embed_json(doc))
