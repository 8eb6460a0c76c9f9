"""Runs the load scenarios: start a server, check it answers right, load it with wrk, read
the workers' peak RSS, stop it; ours and the peers alternately, round after round."""

import statistics
import subprocess
import time

import fronts
import load
import procs
import servers
import static_bench
from scenarios import BACKEND_CONNECTIONS, LABELS, OURS, Scenario
from servers import Shape, Unavailable


def launch(ctx, sc, kind, shape, cpus):
    app = servers.apps(ctx.source_root)[sc.app]
    if kind in static_bench.KINDS:  # a file without Python, each server from its config
        return static_bench.start(ctx, kind, app, shape, cpus), sc.path
    if sc.topology == "http":
        if kind == "ceiling":  # nginx answering by itself, as an HTTP server
            return fronts.start_nginx(ctx, kind, app, shape, cpus)
        return servers.start(ctx, kind, app, shape, cpus, tls=sc.tls), sc.path
    if sc.topology == "nginx":
        running, path = fronts.start_nginx(ctx, kind, app, shape, cpus)
        return running, path if kind == "ceiling" else sc.path
    running, path = fronts.start_apache(ctx, kind, app, shape, cpus)
    return running, path


def _new_row(sc, kind, shape):
    return {"scenario": sc.name, "topology": sc.topology, "kind": kind,
            "server": LABELS[kind], "ours": kind in OURS, "shape": "%dx%d" % shape,
            "status": "ok", "reason": "", "rounds": []}


def _connections(sc, kind, port, path):
    """How the row's connections are used, so no row compares kept-alive connections with
    a new one per request without saying so. Direct HTTP rows are measured (two requests
    on one connection); behind a web server the configuration decides."""
    if sc.client_close:
        return "new per request (client sends Connection: close)"
    if sc.topology == "http":
        if load.keeps_alive("127.0.0.1", port, path, tls=sc.tls):
            return "reused (keep-alive)"
        return "new per request (server closes)"
    return "client to web server reused; " + BACKEND_CONNECTIONS.get(kind, "?")


def _check(sc, port, path):
    # Three checked requests: correctness first, and they warm up the worker (and make
    # mod_fcgid spawn its process) before the clock starts.
    for _ in range(3):
        load.check("127.0.0.1", port, path, method=sc.method, body=sc.body,
                   expect_len=sc.expect_len, expect_body=sc.expect_body, timeout=30,
                   tls=sc.tls)


def run_scenario(ctx, sc: Scenario, scripts, say):
    rows = {kind: _new_row(sc, kind, shape) for kind, shape in sc.servers}
    rounds = sc.rounds or ctx.rounds
    duration = max(1, round(ctx.duration * sc.duration_scale))
    connections = min(sc.connections, 4) if ctx.smoke else sc.connections
    for r in range(rounds):
        for kind, shape in sc.servers:
            row = rows[kind]
            if row["status"] != "ok":
                continue
            server_cpus, wrk_cpus = ctx.cpus_for(Shape(*shape))
            try:
                running, path = launch(ctx, sc, kind, Shape(*shape), server_cpus)
            except Unavailable as exc:
                row.update(status="skip", reason=str(exc))
                say(f"SKIP  {sc.name} / {row['server']}: {exc}")
                continue
            except (procs.StartError, OSError) as exc:
                row.update(status="fail", reason=f"did not start: {exc}")
                say(f"FAIL  {sc.name} / {row['server']}: {row['reason']}")
                continue
            try:
                row["shape"] = running.shape.label
                _check(sc, running.port, path)
                row["connections"] = _connections(sc, kind, running.port, path)
                script = scripts.get(sc.wrk_script) if sc.wrk_script else None
                scheme = "https" if sc.tls else "http"
                result = load.run_wrk(f"{scheme}://127.0.0.1:{running.port}{path}", connections,
                                      duration, cpus=wrk_cpus, script=script)
                rss = procs.peak_rss_kib(running.workers())
                result["rss_kib"] = rss
                row["rounds"].append(result)
                say(f"      {sc.name} / {row['server']} [{row['shape']}] round {r + 1}: "
                    f"{result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
                    f"p99 {result['p99_ms']:.2f} ms, RSS {_fmt_rss(rss)}")
            except (load.LoadError, subprocess.TimeoutExpired, OSError) as exc:
                row.update(status="fail", reason=str(exc)[:2000])
                say(f"FAIL  {sc.name} / {row['server']}: {row['reason']}")
            finally:
                running.stop()
    for row in rows.values():
        _summarise(row)
    return list(rows.values())


def _fmt_rss(rss):
    return "/".join(f"{k / 1024:.1f}" for k in rss) + " MiB" if rss else "?"


def _summarise(row):
    runs = row["rounds"]
    if row["status"] != "ok" or not runs:
        if row["status"] == "ok":
            row.update(status="fail", reason="no measurement")
        return
    row["rps"] = statistics.mean(x["rps"] for x in runs)
    row["p50_ms"] = statistics.mean(x["p50_ms"] for x in runs)
    row["p99_ms"] = statistics.mean(x["p99_ms"] for x in runs)
    row["rps_spread"] = (max(x["rps"] for x in runs) - min(x["rps"] for x in runs)) / row["rps"]
    all_rss = [k for x in runs for k in x["rss_kib"]]
    row["peak_rss_kib"] = max(all_rss) if all_rss else None
    row["timeouts"] = sum(x["socket_errors"].get("timeout", 0) for x in runs)


def run_starvation(ctx, say):
    """While wrk holds 16 keep-alive connections, how long does a 17th client wait?"""
    rows = []
    app = servers.apps(ctx.source_root)["hello"]
    duration = max(3, ctx.duration)
    for kind in ("wsgi-http", "uwsgi-http11"):
        row = {"server": LABELS[kind], "kind": kind, "ours": kind in OURS, "status": "ok",
               "reason": "", "probes_s": [], "shape": "1x1"}
        rows.append(row)
        server_cpus, wrk_cpus = ctx.cpus_for(Shape(1, 1))
        try:
            running = servers.start(ctx, kind, app, Shape(1, 1), server_cpus)
        except Unavailable as exc:
            row.update(status="skip", reason=str(exc))
            say(f"SKIP  keep-alive starvation / {row['server']}: {exc}")
            continue
        except procs.StartError as exc:
            row.update(status="fail", reason=str(exc))
            say(f"FAIL  keep-alive starvation / {row['server']}: {exc}")
            continue
        try:
            url = f"http://127.0.0.1:{running.port}/"
            argv = ["wrk", "-t1", "-c16", f"-d{duration}s", url]
            if wrk_cpus:
                argv = ["taskset", "-c", wrk_cpus] + argv
            wrk = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # Every probe must end while wrk still holds its connections.
                time.sleep(1.0)
                probes = 3 if duration >= 8 else 1
                max_time = min(2.0, (duration - 1.5) / probes)
                for _ in range(probes):
                    row["probes_s"].append(load.timed_get(url, max_time=max_time))
                row["probe_limit_s"] = max_time
            finally:
                wrk.wait(timeout=duration + 30)
            answered = [p for p in row["probes_s"] if p is not None]
            row["answered"] = f"{len(answered)}/{len(row['probes_s'])}"
            row["median_ms"] = statistics.median(answered) * 1e3 if answered else None
            row["max_ms"] = max(answered) * 1e3 if answered else None
            say(f"      keep-alive starvation / {row['server']}: {row['answered']} answered "
                f"within {max_time:.1f} s" + (f", median {row['median_ms']:.1f} ms, max "
                                             f"{row['max_ms']:.1f} ms" if answered else ""))
        finally:
            running.stop()
    return rows
