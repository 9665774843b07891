"""A self-contained HTML report of one run: one file, opens anywhere, fetches nothing.

    html = report_html(store, run_id)          # str: inline CSS, JS (uPlot + the run page) and data
    write_report(store, run_id, "run.html")

It is the review run page (``static/js/run.js``) rendered from data embedded in the file. A
``<meta http-equiv="Content-Security-Policy">`` allows only the inline script and style blocks it
carries (by SHA-256 hash) and no network at all (``default-src 'none'``), so the file cannot
fetch or send anything even when opened from disk; `report_csp` gives the same policy for
serving it over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmlmod
import re
from pathlib import Path

from dashboards.server import STATIC_DIR, run_payload_text, step_fields_js
from gait.storage import Store

CSS_FILES = ("vendor/uplot/uPlot.min.css", "css/app.css")
JS_FILES = ("vendor/uplot/uPlot.iife.min.js", "js/common.js", "js/charts.js", "js/run.js")
BOOT = (
    "(function(){var d=JSON.parse(document.getElementById('run-data').textContent);"
    "window.GaitRun.render(document.getElementById('app'),d,{exports:false});"
    "document.body.dataset.ready='1';})();"
)
_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.S)
_STYLE_RE = re.compile(r"<style>(.*?)</style>", re.S)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _safe_inline(text: str) -> str:
    """Inline-able in a <script>/<style> element: no premature end tag."""
    return re.sub(r"</(script|style)", r"<\\/\1", text, flags=re.I)


def _policy(scripts: list[str], styles: list[str]) -> str:
    return (
        "default-src 'none'; img-src data:; "
        f"script-src {' '.join(_sha(s) for s in scripts)}; "
        f"style-src {' '.join(_sha(s) for s in styles)}; "
        "base-uri 'none'; form-action 'none'"
    )


def report_csp(html: str) -> str:
    """The Content-Security-Policy that allows exactly this report's inline blocks."""
    return _policy(_SCRIPT_RE.findall(html), _STYLE_RE.findall(html))


def report_html(store: Store, run_id: int, static_dir: str | Path | None = None) -> str:
    root = Path(static_dir) if static_dir is not None else STATIC_DIR
    data = run_payload_text(store, run_id).replace("</", "<\\/")
    styles = [_safe_inline((root / f).read_text(encoding="utf-8")) for f in CSS_FILES]
    scripts = [_safe_inline((root / f).read_text(encoding="utf-8")) for f in JS_FILES]
    scripts = [scripts[0], _safe_inline(step_fields_js()), *scripts[1:], BOOT]  # the fields before common.js
    summary = store.summary(run_id)
    title = f"gait run {run_id}" + (f" · {summary.runner}" if summary.runner else "")
    csp = _policy(scripts, styles)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{htmlmod.escape(csp)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{htmlmod.escape(title)}</title>",
        *(f"<style>{s}</style>" for s in styles),
        "</head><body data-page=\"report\">",
        '<header class="topbar"><div class="brand">gait<span>·</span>run report</div>'
        '<div class="spacer"></div><div class="small">self-contained: works offline</div></header>',
        '<main id="app"><p>This report needs JavaScript to draw its charts.</p></main>',
        f'<script type="application/json" id="run-data">{data}</script>',
        *(f"<script>{s}</script>" for s in scripts),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(store: Store, run_id: int, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(report_html(store, run_id), encoding="utf-8")
    return path
