"""bench/run's Python side: runs every section, writes the results, and exits non-zero when
the harness is broken (a server that should run did not, a figure could not be parsed, a
result file is missing). Scenarios whose server is not built or not installed are skipped
with a printed line."""

import argparse
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import cgi_bench
import gateway_cost
import procs
import report
import runner
import scenarios
from context import Context


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run")
    ap.add_argument("--smoke", action="store_true",
                    help="every scenario for ~1 s: checks the harness end to end")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--build-note", default="")
    ap.add_argument("--out", help="results directory (default bench/results, smoke: "
                                  "bench/results/smoke)")
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 10, smoke 1)")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 2, smoke 1)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only sections/scenarios whose name contains this (repeatable); "
                         "sections: load, starvation, cgi, cost")
    ap.add_argument("--server", action="append", default=[],
                    help="in load scenarios, run only the servers whose kind contains this "
                         "(repeatable), e.g. --server wsgi- for ours only")
    ap.add_argument("--pid-file", help="process-group ids of started servers (for the trap)")
    return ap.parse_args(argv)


def selected(args, name):
    return not args.only or any(o.lower() in name.lower() for o in args.only)


def main(argv):
    args = parse_args(argv)
    bench_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source_root = os.path.dirname(bench_dir)
    out = args.out or os.path.join(bench_dir, "results", *(["smoke"] if args.smoke else []))
    duration = args.duration or (1 if args.smoke else 10)
    rounds = args.rounds or (1 if args.smoke else 2)
    tmp = tempfile.mkdtemp(prefix="wsgi-bench-")
    os.chmod(tmp, 0o755)  # Apache's children (nobody) read configs and scripts here
    if args.pid_file:
        procs.set_pid_file(args.pid_file)
    ctx = Context(source_root, os.path.abspath(args.build_dir), tmp, args.smoke, duration, rounds)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    started = time.monotonic()
    now = datetime.datetime.now(datetime.timezone.utc)
    results = {"meta": {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"), "mode": "smoke" if args.smoke else "full",
        "commit": _commit(source_root), "duration": duration, "rounds": rounds,
        "cpus": os.cpu_count(), "pinning": ctx.pinning_note(), "build": args.build_note,
        "cpu_model": _cpu_model(), "loadavg_start": _loadavg()}}
    print(f"== wsgi-bridge benchmark ({results['meta']['mode']}): {ctx.pinning_note()}")
    broken = []
    try:
        _run_sections(args, ctx, results, broken)
    finally:
        procs.stop_all()
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    results["meta"]["loadavg_end"] = _loadavg()
    md = report.write_all(results, out, tmp)
    print()
    print(md)
    broken += _check_outputs(out)
    print(f"results: {out}/latest.{{md,json,png}} ({results['meta']['elapsed_s']} s)")
    if not args.smoke and not args.only and not args.server and not args.out:
        subprocess.run([sys.executable, os.path.join(bench_dir, "update-readme")], check=False)
    if broken:
        print("HARNESS BROKEN:\n  " + "\n  ".join(broken))
        print(f"server logs and configs kept in {tmp}")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _run_sections(args, ctx, results, broken):
    say = lambda line: print(line, flush=True)  # noqa: E731
    scripts = scenarios.write_scripts(ctx.tmp)
    results["load"] = []
    for sc in scenarios.all_scenarios():
        if args.server:
            sc.servers = [(k, s) for k, s in sc.servers if any(f in k for f in args.server)]
        if sc.servers and (selected(args, "load") or selected(args, sc.name)):
            say(f"-- {sc.name}")
            rows = runner.run_scenario(ctx, sc, scripts, say)
            results["load"] += rows
            broken += [f"{r['scenario']} / {r['server']}: {r['reason'][:300]}"
                       for r in rows if r["status"] == "fail"]
    sections = [("starvation", "keep-alive starvation", runner.run_starvation),
                ("cgi", "CGI cold start", cgi_bench.run),
                ("cost", "gateway cost", gateway_cost.run)]
    for key, title, fn in sections:
        if not selected(args, key):
            continue
        say(f"-- {title}")
        try:
            results[key if key != "cost" else "gateway_cost"] = fn(ctx, say)
        except Exception as exc:  # one broken section must not hide the others
            traceback.print_exc()
            broken.append(f"{title}: {exc}")
    for r in results.get("starvation", []) + results.get("gateway_cost", []):
        if r["status"] == "fail":
            broken.append(f"{r['server']}: {r.get('reason', '')[:300]}")


def _check_outputs(out):
    missing = []
    for name in ("latest.md", "latest.json", "latest.png"):
        path = os.path.join(out, name)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            missing.append(f"{path} not written")
    png = os.path.join(out, "latest.png")
    if os.path.exists(png):
        with open(png, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                missing.append(f"{png} is not a PNG")
    return missing


def _commit(root):
    done = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _loadavg():
    """1, 5 and 15 minute load averages: other work on the machine skews the figures."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _on_signal(signum, frame):
    procs.stop_all()
    sys.exit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
