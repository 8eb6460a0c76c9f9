"""bench/soak: resident memory over a long run. 1,000,000 requests (by default) through
wsgi-http and nginx + wsgi-fcgi, and uWSGI in the same places, for three apps (hello, a
1 KiB POST echo, Flask); the workers' current RSS (VmRSS) is sampled every 100,000
requests. After the warm-up (the first sample), a gateway that holds no per-request
memory stays flat: the check is growth <= 1 MiB. Run outside CI (it takes minutes);
results in bench/results/soak.{md,json,png}."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import fronts
import load
import procs
import servers
from context import Context
from servers import Shape, Unavailable

# (label, topology, kind, app, path, method)
# uWSGI's FastCGI socket serves one request per connection (it ignores FCGI_KEEP_CONN and
# closes after FCGI_END_REQUEST), so nginx reaches it without fastcgi_keep_conn, as it must
# be deployed: with keep_conn nginx reuses connections uWSGI is closing, and a POST sent on
# one (EPIPE, ECONNRESET) is not retried (non-idempotent) and fails with 502.
RUNS = [
    ("wsgi-http hello", "http", "wsgi-http", "hello", "/", "GET"),
    ("uWSGI --http-socket hello", "http", "uwsgi", "hello", "/", "GET"),
    ("wsgi-http POST echo", "http", "wsgi-http", "bench", "/echo", "POST"),
    ("uWSGI --http-socket POST echo", "http", "uwsgi", "bench", "/echo", "POST"),
    ("wsgi-http Flask", "http", "wsgi-http", "flask", "/", "GET"),
    ("uWSGI --http-socket Flask", "http", "uwsgi", "flask", "/", "GET"),
    ("nginx + wsgi-fcgi hello", "nginx", "wsgi-fcgi-unix", "hello", "/", "GET"),
    ("nginx + uWSGI FastCGI hello", "nginx", "uwsgi-fastcgi-nokeep", "hello", "/", "GET"),
    ("nginx + wsgi-fcgi POST echo", "nginx", "wsgi-fcgi-unix", "bench", "/echo", "POST"),
    ("nginx + uWSGI FastCGI POST echo", "nginx", "uwsgi-fastcgi-nokeep", "bench", "/echo", "POST"),
    ("nginx + wsgi-fcgi Flask", "nginx", "wsgi-fcgi-unix", "flask", "/", "GET"),
    ("nginx + uWSGI FastCGI Flask", "nginx", "uwsgi-fastcgi-nokeep", "flask", "/", "GET"),
]

POST_LUA = ('wrk.method = "POST"\nwrk.body = string.rep("e", 1024)\n'
            'wrk.headers["Content-Type"] = "application/octet-stream"\n')
def current_rss_kib(pids):
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]))
        except OSError:
            pass
    return max(out) if out else None


def segment(url, seconds, method, tmp, cpus):
    """One wrk run of `seconds`; returns how many requests it completed (all 2xx)."""
    argv = ["wrk", "-t1", "-c16", f"-d{max(1, round(seconds))}s", "--latency"]
    if method == "POST":
        script = os.path.join(tmp, "soak-post.lua")
        with open(script, "w") as f:
            f.write(POST_LUA)
        argv += ["-s", script]
    argv.append(url)
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    result = load.parse_wrk(done.stdout)
    if done.returncode != 0 or result["non2xx"]:
        raise RuntimeError(f"wrk: {done.stderr.strip()[:300]} {result['non2xx']} non-2xx")
    return result["requests"], result["rps"]


def soak_one(ctx, run, total, every, say):
    label, topology, kind, app_key, path, method = run
    app = servers.apps(ctx.source_root)[app_key]
    server_cpus, wrk_cpus = ctx.cpus_for(Shape(1, 1))
    if topology == "http":
        running = servers.start(ctx, kind, app, Shape(1, 1), server_cpus)
    else:
        running, _ = fronts.start_nginx(ctx, kind, app, Shape(1, 1), server_cpus)
    try:
        url = f"http://127.0.0.1:{running.port}{path}"
        # Segments of about `every` requests each (wrk runs by time: the first segment
        # measures the rate); each sample records the requests actually served so far.
        done, rate, samples = 0, None, []
        while done < total:
            seconds = 3 if rate is None else min(every, total - done) / rate
            n, rps = segment(url, seconds, method, ctx.tmp, wrk_cpus)
            done += n
            rate = rps if rate is None else rate
            if done >= (len(samples) + 1) * every or done >= total:
                rss = current_rss_kib(running.workers())
                samples.append({"requests": done, "rss_kib": rss})
                say(f"      {label}: {done:,} requests, RSS {rss / 1024:.2f} MiB")
        base = samples[0]["rss_kib"]
        growth = max(s["rss_kib"] for s in samples) - base
        return {"label": label, "kind": kind, "ours": not kind.startswith("uwsgi"),
                "samples": samples, "growth_kib": growth, "flat": growth <= 1024}
    finally:
        running.stop()


def chart(results, png, tmp):
    data = os.path.join(tmp, "soak.dat")
    with open(data, "w") as f:
        for i, r in enumerate(results["runs"]):
            for s in r["samples"]:
                f.write(f"{s['requests']} {s['rss_kib'] / 1024:.3f}\n")
            f.write("\n\n")
    plots = ", ".join(f'"{data}" index {i} with linespoints title "{r["label"]}"'
                      for i, r in enumerate(results["runs"]))
    script = f"""set terminal pngcairo noenhanced size 1400,800 font "sans,10"
set output "{png}"
set title "Resident memory per worker over {results['total']:,} requests ({results['date']})"
set xlabel "requests"
set ylabel "VmRSS MiB"
set key outside right
set grid
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)


def markdown(results):
    lines = [f"# Soak: {results['total']:,} requests, RSS every {results['every']:,} "
             f"({results['date']}, commit {results['commit']})", "",
             f"Our build: {results['build']}. One process, one thread each; wrk -t1 -c16 "
             "(kept-alive connections). Growth is the largest sample minus the first (after "
             "warm-up); flat means <= 1 MiB.", "", "| run | first MiB | last MiB | growth KiB | flat |",
             "|---|---:|---:|---:|---|"]
    for r in results["runs"]:
        s = r["samples"]
        lines.append(f"| {r['label']} | {s[0]['rss_kib'] / 1024:.2f} "
                     f"| {s[-1]['rss_kib'] / 1024:.2f} | {r['growth_kib']} "
                     f"| {'yes' if r['flat'] else '**no**'} |")
    for r in results.get("failed", []):
        lines.append(f"| {r['label']} | failed: {r['reason'][:100]} | | | |")
    return "\n".join(lines) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/soak")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100_000)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--out", default=None)
    ap.add_argument("--build-note", default="")
    args = ap.parse_args(argv)
    bench_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source_root = os.path.dirname(bench_dir)
    out = args.out or os.path.join(bench_dir, "results")
    tmp = tempfile.mkdtemp(prefix="wsgi-soak-")
    os.chmod(tmp, 0o755)
    ctx = Context(source_root, os.path.abspath(args.build_dir), tmp, False, 1, 1)
    import datetime
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"), "total": args.requests, "every": args.every,
        "commit": subprocess.run(["git", "-C", source_root, "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "build": args.build_note or args.build_dir, "runs": [], "failed": []}
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        for run in RUNS:
            if args.only and not any(o.lower() in run[0].lower() for o in args.only):
                continue
            say(f"-- {run[0]}")
            try:
                results["runs"].append(soak_one(ctx, run, args.requests, args.every, say))
            except (Unavailable, procs.StartError, RuntimeError, OSError,
                    subprocess.TimeoutExpired) as exc:
                results["failed"].append({"label": run[0], "reason": str(exc)})
                say(f"FAIL  {run[0]}: {exc}")
    finally:
        procs.stop_all()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "soak.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = markdown(results)
    with open(os.path.join(out, "soak.md"), "w") as f:
        f.write(md)
    if results["runs"]:
        chart(results, os.path.join(out, "soak.png"), tmp)
    print(md)
    shutil.rmtree(tmp, ignore_errors=True)
    ours_flat = all(r["flat"] for r in results["runs"] if r["ours"])
    return 0 if ours_flat and not results["failed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
