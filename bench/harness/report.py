"""The results: a markdown table, JSON (timestamped + latest.json) and a PNG bar chart."""

import json
import os
import shutil
import subprocess

TARGETS = [
    # (what, scenario, ours kind, peer kind, goal, higher is better)
    ("HTTP hello vs uWSGI --http-socket", "HTTP hello", "wsgi-http", "uwsgi", 1.3, True),
    ("HTTP hello vs gunicorn sync", "HTTP hello", "wsgi-http", "gunicorn-sync", 2.0, True),
    ("Flask hello vs uWSGI", "HTTP Flask hello", "wsgi-http", "uwsgi", 1.1, True),
    ("nginx+FastCGI hello vs nginx+uWSGI FastCGI", "nginx hello", "wsgi-fcgi-unix",
     "uwsgi-fastcgi", 1.2, True),
    ("nginx+FastCGI hello vs nginx+uwsgi_pass", "nginx hello", "wsgi-fcgi-unix", "uwsgi-pass",
     1.0, True),
]


def _row(rows, scenario, kind):
    for r in rows:
        if r["scenario"] == scenario and r["kind"] == kind and r["status"] == "ok":
            return r
    return None


def targets(results):
    rows = results.get("load", [])
    out = []
    for what, scenario, ours, peer, goal, _ in TARGETS:
        a, b = _row(rows, scenario, ours), _row(rows, scenario, peer)
        ratio = a["rps"] / b["rps"] if a and b else None
        out.append({"target": what, "goal": f">= {goal}x", "ratio": ratio,
                    "met": None if ratio is None else ratio >= goal})
    a, b = _row(rows, "HTTP hello", "wsgi-http"), _row(rows, "HTTP hello", "uwsgi")
    ratio = (a["peak_rss_kib"] / b["peak_rss_kib"]
             if a and b and a.get("peak_rss_kib") and b.get("peak_rss_kib") else None)
    out.append({"target": "peak RSS per worker vs uWSGI (HTTP hello)", "goal": "<= 1.0x",
                "ratio": ratio, "met": None if ratio is None else ratio <= 1.0})
    cgi = results.get("cgi", {}).get("direct", {}).get("scripts", {})
    ours, ref = cgi.get("hello_ours.cgi"), cgi.get("hello_wsgiref.cgi")
    ratio = ours["mean_ms"] / ref["mean_ms"] if ours and ref else None
    out.append({"target": "CGI cold start (hello, direct exec) vs wsgiref", "goal": "<= 0.6x",
                "ratio": ratio, "met": None if ratio is None else ratio <= 0.6})
    return out


def _f(x, fmt):
    return "-" if x is None else format(x, fmt)


def _ratio_col(rows, row):
    if row["ours"] or row["status"] != "ok":
        return ""
    ours_kind = next((r["kind"] for r in rows if r["scenario"] == row["scenario"] and r["ours"]),
                     None)
    ours = _row(rows, row["scenario"], ours_kind) if ours_kind else None
    return f"{ours['rps'] / row['rps']:.2f}" if ours else "-"


def markdown(results):
    meta = results["meta"]
    lines = [f"# wsgi-bridge benchmark, {meta['date']}", "",
             f"Commit {meta['commit']}, {meta['mode']} run, {meta['rounds']} round(s) of "
             f"`wrk -t1 -c16 -d{meta['duration']}s --latency` per server (alternating), "
             f"{meta['cpus']} CPUs ({meta['cpu_model']}). {meta['pinning']}. "
             f"Our build: {meta['build']}. Load average before/after the run: "
             f"{meta['loadavg_start']} / {meta.get('loadavg_end', '?')}.", "",
             "| Scenario | Server | procs x threads | req/s | each round | p50 ms | p99 ms "
             "| peak RSS/worker MiB | ours/peer |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    rows = results.get("load", [])
    for r in rows:
        name = f"**{r['server']}**" if r["ours"] else r["server"]
        if r["status"] != "ok":
            why = r["reason"].splitlines()[0][:120] if r["reason"] else ""
            lines.append(f"| {r['scenario']} | {name} | {r['shape']} | {r['status']}: {why} "
                         "| | | | | |")
            continue
        rss = r.get("peak_rss_kib")
        each = " / ".join(f"{x['rps']:,.0f}" for x in r["rounds"])
        lines.append(f"| {r['scenario']} | {name} | {r['shape']} | {r['rps']:,.0f} | {each} "
                     f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                     f"| {_f(rss / 1024 if rss else None, '.1f')} | {_ratio_col(rows, r)} |")
    lines += ["", "req/s is the mean of the rounds; \"each round\" shows how far apart they "
              "were (other work on the machine moves them). ours/peer: req/s of the first of "
              "ours in the scenario (bold) over the peer's.", ""]
    lines += _targets_md(results) + _starvation_md(results) + _cgi_md(results)
    lines += _cost_md(results)
    return "\n".join(lines) + "\n"


def _targets_md(results):
    out = ["## Targets", "", "| Target | Goal | Measured | Met |", "|---|---|---:|---|"]
    for t in results.get("targets", []):
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        out.append(f"| {t['target']} | {t['goal']} | {_f(t['ratio'], '.2f')}x | {met} |")
    return out + [""]


def _starvation_md(results):
    out = ["## Keep-alive starvation", "",
           "A 17th client (curl, new connection) while wrk holds 16 keep-alive connections "
           "to a 1x1 server.", "", "| Server | answered | median ms | max ms |",
           "|---|---|---:|---:|"]
    for r in results.get("starvation", []):
        if r["status"] != "ok":
            out.append(f"| {r['server']} | {r['status']}: {r['reason'][:100]} | | |")
            continue
        out.append(f"| {r['server']} | {r['answered']} (limit {r['probe_limit_s']:.1f} s) "
                   f"| {_f(r['median_ms'], '.1f')} | {_f(r['max_ms'], '.1f')} |")
    return out + [""]


def _cgi_md(results):
    cgi = results.get("cgi", {})
    direct = cgi.get("direct", {})
    out = ["## CGI cold start", "",
           f"Direct exec ({direct.get('runs', '?')} runs each) and through Apache mod_cgid "
           "(wrk, 1 connection).", "",
           "| Script | direct mean ms | direct median ms | Apache req/s | Apache p50 ms |",
           "|---|---:|---:|---:|---:|"]
    apache = cgi.get("apache", {}).get("rows", {})
    for name, r in direct.get("scripts", {}).items():
        a = apache.get(name, {})
        out.append(f"| {name} | {r['mean_ms']:.1f} | {r['median_ms']:.1f} "
                   f"| {_f(a.get('rps'), '.1f')} | {_f(a.get('p50_ms'), '.1f')} |")
    if direct.get("skip"):
        out.append(f"\nours skipped: {direct['skip']}")
    for name, text in (cgi.get("coldstart_sh") or {}).items():
        out += ["", f"bench/cgi_coldstart.sh, {name} (exec to end of response):", "",
                "```", text, "```"]
    return out + [""]


def _cost_md(results):
    out = ["## Gateway cost (callgrind, hello)", "",
           "| Server | requests | instructions/request | in the app's Python | outside it |",
           "|---|---:|---:|---:|---:|"]
    for r in results.get("gateway_cost", []):
        if r["status"] != "ok":
            out.append(f"| {r['server']} | {r['status']}: {r.get('reason', '')[:100]} | | | |")
            continue
        out.append(f"| {r['server']} | {r['requests']} | {r['instructions_per_request']:,.0f} "
                   f"| {r['app_instructions_per_request']:,.0f} "
                   f"| {r['gateway_share'] * 100:.0f}% |")
    return out + [""]


def chart(results, png, tmp):
    """Bar chart of req/s (log scale), ours in one colour, peers in another."""
    if not shutil.which("gnuplot"):
        raise RuntimeError("gnuplot is not installed")
    data = os.path.join(tmp, "chart.dat")
    rows = [r for r in results.get("load", []) if r["status"] == "ok"]
    with open(data, "w") as f:
        for i, r in enumerate(rows):
            label = f"{r['scenario']}: {r['server']} {r['shape']}".replace('"', "'")
            f.write(f'{i} "{label}" {r["rps"]:.1f} {1 if r["ours"] else 0}\n')
    script = f"""
set terminal pngcairo noenhanced size 1600,1000 font "sans,9"
set output "{png}"
set title "wsgi-bridge vs peers: requests/s ({results['meta']['date']}, higher is better)"
set logscale y
set ylabel "requests/s (log scale)"
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -60 left
set bmargin 26
set rmargin 22
set grid ytics
set key top right
plot "{data}" using 1:($4==1 ? $3 : 1/0):xtic(2) with boxes lc rgb "#1f77b4" title "ours", \\
     "{data}" using 1:($4==0 ? $3 : 1/0) with boxes lc rgb "#aaaaaa" title "peers"
"""
    if not rows:
        script = f'set terminal pngcairo size 800,200\nset output "{png}"\n' \
                 'set label "no measurement" at screen 0.4,0.5\nunset border\nunset tics\n' \
                 'plot [0:1][0:1] 1/0 notitle\n'
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)


def write_all(results, out_dir, stamp, tmp):
    os.makedirs(out_dir, exist_ok=True)
    results["targets"] = targets(results)
    text = json.dumps(results, indent=1, sort_keys=True)
    for name in (f"{stamp}.json", "latest.json"):
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text)
    md = markdown(results)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    chart(results, os.path.join(out_dir, "latest.png"), tmp)
    return md
