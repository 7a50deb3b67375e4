"""Plotly's style sheets as static files, so pages need no inline <style> (Content-Security-Policy).

plotly.min.js carries two style sheets that it injects as <style> elements when it loads: its own rules and
MapLibre's. It skips each one when the page already has an element with its id (for its own rules, with the class
`no-inline-styles`), so base.html links the two files written here under those ids. Re-run
`manage.py vendor_plotly_css` after replacing static/vendor/plotly.min.js."""

from __future__ import annotations

import re
from dataclasses import dataclass

PLOTLY_STYLE_ID = "plotly.js-style-global"

# for(k in RULES)sel=k.replace(/^,/," ,").replace(/X/g,".js-plotly-plot .plotly").replace(/Y/g,".plotly-notifier"),
# lib.addStyleRule(sel,RULES[k])
_RULES_LOOP = re.compile(
    r'for\((?P<key>[\w$]+) in (?P<rules>[\w$]+)\)(?P<sel>[\w$]+)=(?P=key)\.replace\(/\^,/," ,"\)'
    r'\.replace\(/X/g,"(?P<x>[^"]+)"\)\.replace\(/Y/g,"(?P<y>[^"]+)"\),[\w$]+\.addStyleRule\((?P=sel),(?P=rules)\[(?P=key)\]\)'
)
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_PAIR = re.compile(rf"(?P<key>{_STRING}|[A-Za-z_$][\w$]*):(?P<value>{_STRING})(?P<end>[,}}])")
# if(!document.getElementById("<sha256>")){var e=document.createElement("style");e.id="<sha256>",e.textContent='…'
_MAPLIBRE = re.compile(
    r'document\.getElementById\("(?P<id>[0-9a-f]{64})"\)\)\{var (?P<v>[\w$]+)=document\.createElement\("style"\);'
    r"(?P=v)\.id=\"(?P=id)\",(?P=v)\.textContent='(?P<css>(?:[^'\\]|\\.)*)'"
)


@dataclass(frozen=True)
class PlotlyStyles:
    plotly_css: str
    maplibre_id: str
    maplibre_css: str


def _unquote(literal: str) -> str:
    if literal[0] in "\"'":
        literal = literal[1:-1]
    if "\\" in literal:
        raise ValueError(f"escaped character in a Plotly style literal, not handled: {literal[:80]!r}")
    return literal


def extract_styles(bundle: str) -> PlotlyStyles:
    """The style sheets plotly.min.js would inject, in the order the browser would apply them."""
    loop = _RULES_LOOP.search(bundle)
    if loop is None:
        raise ValueError("plotly.min.js has no addStyleRule loop of the expected shape: update plotly_assets.py")
    start = bundle.rfind(f"{loop['rules']}={{", 0, loop.start())
    if start < 0:
        raise ValueError(f"plotly.min.js: the object {loop['rules']} of style rules was not found")
    rules: list[tuple[str, str]] = []
    position = start + len(loop["rules"]) + 2
    while True:
        pair = _PAIR.match(bundle, position)
        if pair is None:
            raise ValueError(f"plotly.min.js: cannot read the style rules at {bundle[position : position + 60]!r}")
        selector = _unquote(pair["key"])
        selector = re.sub(r"^,", " ,", selector).replace("X", loop["x"]).replace("Y", loop["y"])
        rules.append((selector, _unquote(pair["value"])))
        position = pair.end()
        if pair["end"] == "}":
            break
    # addStyleRule inserts each rule at index 0 of the sheet, so the last rule ends up first.
    plotly_css = "".join(f"{selector}{{{body}}}\n" for selector, body in reversed(rules))
    maplibre = _MAPLIBRE.search(bundle)
    if maplibre is None:
        raise ValueError("plotly.min.js has no MapLibre style injection of the expected shape: update plotly_assets.py")
    maplibre_css = _unquote(maplibre["css"]) + "\n"
    return PlotlyStyles(plotly_css=plotly_css, maplibre_id=maplibre["id"], maplibre_css=maplibre_css)
