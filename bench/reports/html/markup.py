"""HTML building blocks: escaping, the markdown-ish inline text the notes use, and the page skeleton.

Every page links the site's own ``assets/`` by a relative path (``root``), so the folder opens from disk
(``file://``) and can be moved or published as is: no server, no CDN, no external font (a system font stack).
Output is deterministic (no timestamps), so re-rendering unchanged results changes no file.
"""
from __future__ import annotations

import html
import json
import math
import re

ASSETS = "assets"
PLOTLY_FILE = "plotly.min.js"


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def inline(text: str) -> str:
    """The leaderboard's notes are markdown (``code``, **bold**); the same sentences, as HTML."""
    out = esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def finite(data: object) -> object:
    """NaN and infinities as null: JSON has no token for them, and a page whose data fails to parse draws nothing."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    return data


def json_script(data: object, css_class: str, element_id: str | None = None) -> str:
    """Data for the page's scripts, inert until read (``</`` escaped so no text can close the tag)."""
    text = json.dumps(finite(data), separators=(",", ":"), sort_keys=False, allow_nan=False).replace("</", "<\\/")
    ident = f' id="{esc(element_id)}"' if element_id else ""
    return f'<script type="application/json" class="{css_class}"{ident}>{text}</script>'


def link(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def page(title: str, body: str, root: str, crumbs: list[tuple[str, str]] = (), charts: bool = False,
         footer: str = "") -> str:
    """A whole page. ``root`` is the relative path back to the site's top (``""``, ``"../../"``); ``crumbs`` are
    (href, text) links shown above the title; ``charts`` adds the charting library (pages without charts skip it)."""
    scripts = f'<script src="{root}{ASSETS}/{PLOTLY_FILE}"></script>\n' if charts else ""
    trail = " › ".join([link(f"{root}index.html", "bench report")] + [link(href, text) for href, text in crumbs])
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<link rel=\"stylesheet\" href=\"{root}{ASSETS}/site.css\">\n{scripts}"
        f"<script src=\"{root}{ASSETS}/site.js\" defer></script>\n</head>\n<body>\n"
        f"<nav class=\"crumbs\">{trail}</nav>\n<main>\n<h1>{esc(title)}</h1>\n{body}\n</main>\n"
        f"<footer>{footer}</footer>\n</body>\n</html>\n"
    )


def section(title: str, body: str, anchor: str = "") -> str:
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f"<section{ident}>\n<h2>{esc(title)}</h2>\n{body}\n</section>"


def notes(lines: list[str]) -> str:
    return "".join(f"<p class=\"note\">{inline(line)}</p>\n" for line in lines)


def missing(text: str) -> str:
    """What a page cannot show and why, in one visible line (never an empty chart or an invented value)."""
    return f"<p class=\"missing\">{inline(text)}</p>"
