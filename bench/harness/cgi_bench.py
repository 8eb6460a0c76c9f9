"""CGI cold start: wsgi-cgi against the standard library's wsgiref.handlers.CGIHandler on
Debian's /usr/bin/python3, for the hello and Flask apps, each deployed the usual way as
one executable script (ours: `#!/path/to/wsgi-cgi` + the app; wsgiref: `#!/usr/bin/python3`
+ the app + CGIHandler().run). Measured by direct exec (hyperfine, or a timed loop) and
through Apache mod_cgid (wrk, one connection: every request is one cold start)."""

import json
import os
import shutil
import statistics
import subprocess
import time

import fronts
import load
import procs
import servers
from servers import Shape, Unavailable

WSGIREF_MAIN = ("\n\nif __name__ == '__main__':\n"
                "    from wsgiref.handlers import CGIHandler\n"
                "    CGIHandler().run(application)\n")

CGI_ENV = {"REQUEST_METHOD": "GET", "GATEWAY_INTERFACE": "CGI/1.1", "PATH_INFO": "/",
           "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "SERVER_SOFTWARE": "bench", "PATH": "/usr/bin:/bin"}


def scripts(ctx):
    """name → script text; ours only when wsgi-cgi is built. Returns (scripts, skip)."""
    out, skip = {}, None
    try:
        ours = ctx.ours("wsgi-cgi")
    except Unavailable as exc:
        ours, skip = None, str(exc)
    for app_name, rel in (("hello", "examples/hello.py"), ("flask", "tests/apps/bench_flask.py")):
        with open(os.path.join(ctx.source_root, rel)) as f:
            source = f.read()
        out[f"{app_name}_wsgiref.cgi"] = "#!/usr/bin/python3\n" + source + WSGIREF_MAIN
        if ours:
            out[f"{app_name}_ours.cgi"] = f"#!{ours}\n" + source
    return out, skip


def _verify(path, name):
    env = dict(CGI_ENV, SCRIPT_NAME="/" + name)
    done = subprocess.run([path], capture_output=True, env=env, timeout=30,
                          stdin=subprocess.DEVNULL)
    out = done.stdout
    if done.returncode != 0 or b"Hello, World!" not in out or (
            b"Status: 200" not in out and b"200 OK" not in out):
        raise load.LoadError(f"{name} answered badly (exit {done.returncode}): "
                             f"{out[:300]!r} {done.stderr[-500:]!r}")


def direct(ctx, say):
    """Mean/median ms of `runs` direct execs of each script."""
    made, skip = scripts(ctx)
    d = os.path.join(ctx.tmp, "cgi-direct")
    os.makedirs(d, exist_ok=True)
    runs = 5 if ctx.smoke else 50
    results = {}
    for name, text in made.items():
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        _verify(path, name)
        results[name] = _time(path, name, runs, d)
        say(f"      CGI direct exec {name}: mean {results[name]['mean_ms']:.1f} ms, "
            f"median {results[name]['median_ms']:.1f} ms ({runs} runs)")
    if skip:
        say(f"SKIP  CGI cold start, ours: {skip}")
    return {"runs": runs, "scripts": results, "skip": skip}


def _time(path, name, runs, d):
    env = dict(CGI_ENV, SCRIPT_NAME="/" + name)
    if shutil.which("hyperfine"):
        out = os.path.join(d, name + ".json")
        subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs),
                        "--export-json", out, "--style", "none", path],
                       env=env, check=True, capture_output=True, timeout=300)
        with open(out) as f:
            r = json.load(f)["results"][0]
        return {"mean_ms": r["mean"] * 1e3, "median_ms": r["median"] * 1e3,
                "stddev_ms": (r.get("stddev") or 0) * 1e3, "tool": "hyperfine"}
    times = []
    for i in range(runs + 3):
        t = time.perf_counter()
        subprocess.run([path], env=env, stdout=subprocess.DEVNULL, check=True)
        if i >= 3:  # the first three warm the page cache, as hyperfine's --warmup
            times.append(time.perf_counter() - t)
    return {"mean_ms": statistics.mean(times) * 1e3,
            "median_ms": statistics.median(times) * 1e3,
            "stddev_ms": statistics.pstdev(times) * 1e3, "tool": "loop"}


def through_apache(ctx, say):
    """Each script behind Apache mod_cgid, one connection, alternately for `rounds`."""
    made, skip = scripts(ctx)
    rows = {name: {"script": name, "rounds": []} for name in made}
    server_cpus, wrk_cpus = ctx.cpus_for(Shape(1, 1))
    apps = servers.apps(ctx.source_root)
    running, _ = fronts.start_apache(ctx, "cgi", apps["hello"], Shape(1, 1), server_cpus,
                                     cgi_scripts=made)
    try:
        duration = max(1, ctx.duration // 2)
        for r in range(ctx.rounds):
            for name in made:
                # PATH_INFO "/": with none, Flask answers 308 to add the slash.
                path = f"/{name}/"
                load.check("127.0.0.1", running.port, path, expect_body=b"Hello, World!\n")
                res = load.run_wrk(f"http://127.0.0.1:{running.port}{path}", 1, duration,
                                   cpus=wrk_cpus)
                rows[name]["rounds"].append(res)
                say(f"      CGI via Apache mod_cgid {name} round {r + 1}: "
                    f"{res['rps']:.1f} req/s, p50 {res['p50_ms']:.1f} ms")
    finally:
        running.stop()
    for row in rows.values():
        row["rps"] = statistics.mean(x["rps"] for x in row["rounds"])
        row["p50_ms"] = statistics.mean(x["p50_ms"] for x in row["rounds"])
        row["p99_ms"] = statistics.mean(x["p99_ms"] for x in row["rounds"])
    return {"rows": rows, "skip": skip}


def coldstart_sh(ctx, say):
    """The CGI helper's bench/cgi_coldstart.sh (exec → end of response, its own env), for
    hello and Flask, when it and wsgi-cgi exist: its printed figures go in the results."""
    script = os.path.join(ctx.source_root, "bench", "cgi_coldstart.sh")
    try:
        ctx.ours("wsgi-cgi")
    except Unavailable:
        return None
    if not os.access(script, os.X_OK):
        return None
    runs = "5" if ctx.smoke else "50"
    out = {}
    for name, rel in (("hello", "examples/hello.py"), ("flask", "tests/apps/bench_flask.py")):
        done = subprocess.run([script, "-n", runs, "-b", ctx.build_dir, "-a",
                               os.path.join(ctx.source_root, rel)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise load.LoadError(f"cgi_coldstart.sh {name} failed: {done.stderr[-1000:]}")
        out[name] = done.stdout.strip()
        say(f"      bench/cgi_coldstart.sh ({name}):\n" + "\n".join(
            "        " + line for line in out[name].splitlines()))
    return out


def run(ctx, say):
    out = {"direct": direct(ctx, say), "coldstart_sh": coldstart_sh(ctx, say)}
    try:
        out["apache"] = through_apache(ctx, say)
    except Unavailable as exc:
        say(f"SKIP  CGI via Apache: {exc}")
        out["apache"] = {"rows": {}, "skip": str(exc)}
    except (procs.StartError, load.LoadError) as exc:
        out["apache"] = {"rows": {}, "error": str(exc)}
        raise
    return out
