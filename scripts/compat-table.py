#!/usr/bin/python3
"""Writes the README's compatibility table (framework x deployment, pass/fail) from the
result files of a framework-matrix run (tests/compat/matrix.py writes one JSON file per
deployment into BUILD/compat-results/).

usage: scripts/compat-table.py [RESULTS_DIR] [--readme README.md] [--check]
  RESULTS_DIR  default build/compat-results
  --readme     the file whose text between the markers is replaced (default README.md)
  --print      print the table instead of writing it
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- compat-table:begin (scripts/compat-table.py writes this) -->"
END = "<!-- compat-table:end -->"

FRAMEWORKS = [("flask", "Flask"), ("django", "Django"), ("bottle", "Bottle"),
              ("falcon", "Falcon"), ("pyramid", "Pyramid"), ("webob", "WebOb"),
              ("werkzeug", "Werkzeug")]
FRONTS = [("wsgi-http", "`wsgi-http`"),
          ("nginx", "nginx → `wsgi-fcgi`"),
          ("apache-fcgid", "Apache mod_fcgid → `wsgi-fcgi`"),
          ("apache-proxy-fcgi", "Apache mod_proxy_fcgi → `wsgi-fcgi`"),
          ("cgi-direct", "`wsgi-cgi` (exec)"),
          ("apache-cgid", "Apache mod_cgid → `wsgi-cgi`"),
          ("lighttpd", "lighttpd → `wsgi-cgi`")]


def cell(results, front, framework):
    run = results.get(front)
    if run is None:
        return "not run"
    fw = run.get("frameworks", {}).get(framework)
    if fw is None:
        return "**fail**" if run.get("error") else "not run"
    if fw["pass"]:
        return "pass"
    failed = [route for route, outcome in fw["routes"].items() if outcome != "pass"]
    return "**fail** (" + ", ".join(failed) + ")"


def table(results):
    versions = {}
    for run in results.values():
        versions.update(run.get("versions", {}))
    lines = ["| framework | " + " | ".join(label for _, label in FRONTS) + " |",
             "|---|" + "---|" * len(FRONTS)]
    for key, name in FRAMEWORKS:
        if key in versions:
            name += " " + versions[key]
        lines.append(f"| {name} | " + " | ".join(cell(results, f, key) for f, _ in FRONTS) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default=str(ROOT / "build" / "compat-results"))
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    results = {}
    for f in sorted(Path(a.results).glob("*.json")):
        data = json.loads(f.read_text())
        results[data["front"]] = data
    if not results:
        print(f"no result files in {a.results}: run meson test --suite compat first",
              file=sys.stderr)
        return 1
    text = table(results)
    if a.print:
        sys.stdout.write(text)
        return 0
    readme = Path(a.readme)
    old = readme.read_text()
    if BEGIN not in old or END not in old:
        print(f"{readme} has no {BEGIN} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = old.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n" + text + END + tail)
    print(f"wrote the table of {len(results)} deployments into {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
