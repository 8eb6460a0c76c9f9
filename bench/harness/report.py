"""The results: a markdown table, latest.json, the README's table and a PNG bar chart."""

import json
import os
import shutil
import subprocess

TARGETS = [
    # (what, (scenario, ours kind), (scenario, peer kind), goal); higher is better
    ("HTTP hello vs uWSGI --http-socket", ("HTTP hello", "wsgi-http"), ("HTTP hello", "uwsgi"),
     1.3),
    ("HTTP hello vs gunicorn sync", ("HTTP hello", "wsgi-http"), ("HTTP hello", "gunicorn-sync"),
     2.0),
    ("Flask hello vs uWSGI", ("HTTP Flask hello", "wsgi-http"), ("HTTP Flask hello", "uwsgi"),
     1.1),
    ("nginx+FastCGI hello vs nginx+uWSGI FastCGI", ("nginx hello", "wsgi-fcgi-unix"),
     ("nginx hello", "uwsgi-fastcgi"), 1.2),
    ("nginx+FastCGI hello vs nginx+uwsgi_pass", ("nginx hello", "wsgi-fcgi-unix"),
     ("nginx hello", "uwsgi-pass"), 1.0),
    ("kept-alive HTTP hello vs nginx return 200", ("HTTP hello", "wsgi-http"),
     ("nginx hello", "ceiling"), 0.9),
    ("Connection: close hello vs uWSGI", ("HTTP hello, Connection: close", "wsgi-http"),
     ("HTTP hello, Connection: close", "uwsgi"), 1.0),
    ("Connection: close hello vs nginx return 200",
     ("HTTP hello, Connection: close", "wsgi-http"),
     ("HTTP hello, Connection: close", "ceiling"), 0.95),
    ("nginx without keep-conn vs uWSGI FastCGI", ("nginx hello, no keep-conn",
     "wsgi-fcgi-unix-nokeep"), ("nginx hello, no keep-conn", "uwsgi-fastcgi-nokeep"), 1.2),
    ("Apache mod_fcgid vs the libfcgi C ceiling", ("Apache hello", "fcgid"),
     ("Apache hello", "fcgid-libfcgi"), 0.9),
    ("Apache mod_fcgid vs mod_wsgi daemon", ("Apache hello", "fcgid"),
     ("Apache hello", "mod-wsgi"), 1.0),
    ("static 4 KiB vs nginx", ("HTTP static 4 KiB", "wsgi-http-static"),
     ("HTTP static 4 KiB", "nginx-static"), 0.5),
]


def _row(rows, scenario, kind):
    for r in rows:
        if r["scenario"] == scenario and r["kind"] == kind and r["status"] == "ok":
            return r
    return None


def targets(results):
    rows = results.get("load", [])
    out = []
    for what, ours, peer, goal in TARGETS:
        a, b = _row(rows, *ours), _row(rows, *peer)
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
             "| Scenario | Server | procs x threads | connections | req/s | each round | p50 ms "
             "| p99 ms | peak RSS/worker MiB | ours/peer |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    rows = results.get("load", [])
    for r in rows:
        name = f"**{r['server']}**" if r["ours"] else r["server"]
        if r["status"] != "ok":
            why = r["reason"].splitlines()[0][:120] if r["reason"] else ""
            lines.append(f"| {r['scenario']} | {name} | {r['shape']} | | {r['status']}: {why} "
                         "| | | | | |")
            continue
        rss = r.get("peak_rss_kib")
        each = " / ".join(f"{x['rps']:,.0f}" for x in r["rounds"])
        lines.append(f"| {r['scenario']} | {name} | {r['shape']} "
                     f"| {r.get('connections', '?')} | {r['rps']:,.0f} | {each} "
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
           "| Server | protocol | connections | requests | instructions/request | vs uWSGI "
           "| in the app's Python | outside it |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in results.get("gateway_cost", []):
        if r["status"] != "ok":
            out.append(f"| {r['server']} | {r.get('protocol', 'HTTP')} | | "
                       f"{r['status']}: {r.get('reason', '')[:100]} | | | | |")
            continue
        connections = "new per request" if r.get("new_connections") else "kept alive"
        ratio = r.get("ratio_to_uwsgi")
        out.append(f"| {r['server']} | {r.get('protocol', 'HTTP')} | {connections} "
                   f"| {r['requests']} | {r['instructions_per_request']:,.0f} "
                   f"| {f'{ratio:.2f}x' if ratio else ''} "
                   f"| {r['app_instructions_per_request']:,.0f} "
                   f"| {r['gateway_share'] * 100:.0f}% |")
    out += ["", "vs uWSGI: our instructions per request over those of the uWSGI row with the same "
            "protocol and connections (below 1: fewer). FastCGI rows: a unix socket, every "
            "request on a new connection (FCGI_KEEP_CONN off: nginx without fastcgi_keep_conn, "
            "mod_fcgid) with the params nginx's stock fastcgi_params sends."]
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


def _conn(row):
    if row.get("connections"):
        return row["connections"]
    if row.get("topology") in ("nginx", "apache"):  # runs before the column: the config says
        from scenarios import BACKEND_CONNECTIONS
        return "client to web server reused; " + BACKEND_CONNECTIONS.get(row["kind"], "?")
    return "not recorded in this run"


def readme_table(results):
    """The README's benchmark table: every peer row beside ours in its scenario, with how
    each side uses its connections (bench/update-readme puts it between the markers)."""
    rows = [r for r in results.get("load", []) if r["status"] == "ok"]
    meta = results["meta"]
    out = [f"Latest full run ({meta['date']}, commit {meta['commit']}, {meta['cpus']} CPUs, "
           f"{meta['cpu_model']}; {meta['pinning']}):", "",
           "| scenario (procs x threads) | ours | ours req/s | ours' connections | peer "
           "| peer req/s | peer's connections | ours/peer |",
           "|---|---|---:|---|---|---:|---|---:|"]
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        in_sc = [r for r in rows if r["scenario"] == scenario]
        ours = [r for r in in_sc if r["ours"]]
        for mine in ours:
            for peer in (r for r in in_sc if not r["ours"]):
                out.append(f"| {scenario} {mine['shape']} | {mine['server']} "
                           f"| {mine['rps']:,.0f} | {_conn(mine)} | {peer['server']} "
                           f"| {peer['rps']:,.0f} | {_conn(peer)} "
                           f"| {mine['rps'] / peer['rps']:.2f} |")
    out += ["", "| target | goal | measured | met |", "|---|---|---:|---|"]
    for t in results.get("targets", []):
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        out.append(f"| {t['target']} | {t['goal']} | {_f(t['ratio'], '.2f')}x | {met} |")
    return "\n".join(out) + "\n"


def write_all(results, out_dir, tmp):
    os.makedirs(out_dir, exist_ok=True)
    results["targets"] = targets(results)
    # One copy: the date and commit are inside, and git keeps the history.
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        f.write(json.dumps(results, indent=1, sort_keys=True))
    md = markdown(results)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out_dir, "readme-table.md"), "w") as f:
        f.write(readme_table(results))
    chart(results, os.path.join(out_dir, "latest.png"), tmp)
    return md
