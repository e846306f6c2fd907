#!/usr/bin/env python3
"""Check report.html's per-worker load chart against report.json.

    lab_svg_check.py OUT_DIR

The chart must be one inline <svg> element that parses on its own as an SVG
document (xml.etree), with no script and no external reference, holding the
three series packets, bytes and connections; in each, one bar per worker of
report.json, in order, whose data-value and visible label equal that
worker's figure and whose height is the figure scaled to the series' own
largest value. Exit 0 when all holds, 1 with one line per problem.
"""
import html.parser
import json
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
SERIES = {"packets": "packets", "bytes": "bytes", "connections": "connections"}


class SvgFinder(html.parser.HTMLParser):
    """Where the <svg> elements of an HTML page start and end (offsets)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for line in text.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.spans, self.start, self.depth, self.scripts = [], None, 0, 0
        self.feed(text)
        self.close()

    def at(self):
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            if self.depth == 0:
                self.start = self.at()
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "svg" and self.depth:
            self.depth -= 1
            if self.depth == 0:
                end = self.rawdata.find(">", self.at()) + 1
                self.spans.append((self.start, end))


def check(out_dir):
    errors = []
    with open(f"{out_dir}/report.json") as f:
        workers = json.load(f)["workers"]
    with open(f"{out_dir}/report.html") as f:
        page = f.read()
    finder = SvgFinder(page)
    if finder.scripts:
        errors.append("report.html has a <script>")
    if len(finder.spans) != 1:
        return errors + [f"report.html has {len(finder.spans)} <svg> elements, expected 1"]
    a, b = finder.spans[0]
    try:
        root = ET.fromstring(page[a:b])
    except ET.ParseError as e:
        return errors + [f"the SVG is not a well-formed document: {e}"]
    if root.tag != SVG + "svg":
        errors.append(f"root element {root.tag}, not an SVG <svg>")
    for attr in ("width", "height", "viewBox"):
        if attr not in root.attrib:
            errors.append(f"<svg> has no {attr}")
    for el in root.iter():
        if el.tag in (SVG + "script", SVG + "image", SVG + "use", SVG + "foreignObject"):
            errors.append(f"the SVG holds a {el.tag}")
        for k, v in el.attrib.items():
            if k.endswith("href") or "url(" in v:
                errors.append(f"external or linked reference {k}={v!r}")
    groups = {g.get("data-series"): g for g in root.iter(SVG + "g") if g.get("class") == "series"}
    if sorted(groups) != sorted(SERIES):
        return errors + [f"series {sorted(groups)}, expected {sorted(SERIES)}"]
    for series, key in SERIES.items():
        g = groups[series]
        want = [w[key] for w in workers]
        top = max(want, default=0)
        height = int(g.get("data-height", "-1"))
        if int(g.get("data-max", "-1")) != top:
            errors.append(f"{series}: data-max {g.get('data-max')}, report.json's max {top}")
        bars = [e for e in g.iter(SVG + "g") if e.get("class") == "bar"]
        if len(bars) != len(workers):
            errors.append(f"{series}: {len(bars)} bars for {len(workers)} workers")
            continue
        for w, bar, v in zip(workers, bars, want):
            where = f"{series}/{w['name']}"
            if bar.get("data-worker") != w["name"]:
                errors.append(f"{where}: bar names worker {bar.get('data-worker')!r}")
            if bar.get("data-value") != str(v):
                errors.append(f"{where}: data-value {bar.get('data-value')}, report.json {v}")
            labels = [t.text for t in bar.iter(SVG + "text") if t.get("class") == "value"]
            if labels != [str(v)]:
                errors.append(f"{where}: value label {labels}, report.json {v}")
            title = bar.find(SVG + "title")
            if title is None or f": {v} {series}" not in (title.text or ""):
                errors.append(f"{where}: tooltip does not give {v} {series}")
            rect = bar.find(SVG + "rect")
            h = round(v / top * height) if top else 0
            if rect is None or abs(float(rect.get("height", "-9")) - h) > 1:
                got = None if rect is None else rect.get("height")
                errors.append(f"{where}: bar height {got}, {v}/{top} of {height} is {h}")
    return errors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    errors = check(sys.argv[1])
    for e in errors:
        print(f"svg: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
