"""Gateway cost per request, deterministic: instructions counted by callgrind while the
server answers W + N hello requests on one keep-alive connection (or, in the
new-connection rows, each request on a connection of its own with `Connection: close`),
minus the same server answering W requests, divided by N. W = 10 warm-up requests rather than 0: the first
request costs tens of millions of instructions of lazy set-up in uWSGI (imports, first
allocations), which is not a per-request cost.

The app's own share is measured the same way without any server: /usr/bin/python3 calls
the app W + N times in a loop, minus W times. The inclusive cost of the interpreter's
frame function inside the server is no use for this: CPython re-enters it while importing
and callgrind splits it by recursion level (it reads over 100 %). Everything else a
request costs is the gateway: parsing, environ, start_response, writing, the event loop."""

import glob
import os
import re
import signal
import socket
import subprocess

import load
import procs
import servers
from servers import Unavailable

WARMUP = 10
# A fixed str hash seed: dict layouts, hence instruction counts, repeat from run to run
# (for the interpreters that read the environment: uWSGI's and the app loop's).
SEEDED = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}

# start_response is `slice`, a C builtin taking two arguments that does nothing, so the
# loop counts the app's Python and not a Python stand-in for the server's callable.
APP_LOOP = """
import sys
sys.path.insert(0, {dir!r})
from {module} import {callable} as app
environ = {{"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
           "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http"}}
for _ in range({n}):
    app(environ, slice)
"""


def _client(port, n, close=False):
    """n GETs over keep-alive (reconnecting if the server closes), each checked for 200.
    close: every request asks for `Connection: close`, so each one opens a connection."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    request += b"Connection: close\r\n\r\n" if close else b"\r\n"
    sock, buf, done = None, b"", 0
    while done < n:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=120)
            buf = b""
        sock.sendall(request)
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise load.LoadError("server closed the connection mid-response")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise load.LoadError(f"bad answer: {head[:100]!r}")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(rest) < length:
            rest += sock.recv(65536)
        buf = rest[length:]
        done += 1
        # uWSGI --http-socket closes without saying "Connection: close".
        if close or re.search(rb"(?i)connection:\s*close", head):
            sock.close()
            sock = None
    if sock:
        sock.close()


# What each row runs: (label, server kind, a connection per request).
ROWS = [
    ("wsgi-http", "wsgi-http", False),
    ("uWSGI --http11-socket", "uwsgi-http11", False),
    ("wsgi-http, default --threads, new connection each", "wsgi-http-defaults", True),
    ("wsgi-http --threads 1, new connection each", "wsgi-http", True),
    ("uWSGI --http-socket, new connection each", "uwsgi-http", True),
]


def _argv(ctx, kind, app, addr):
    if kind in ("wsgi-http", "wsgi-http-defaults"):
        # The defaults row passes no --threads: the server's own default (and only the
        # --allow-root that ours_shape() adds as well).
        args = ctx.ours_shape("wsgi-http", servers.Shape(1, 1))[0]
        if kind == "wsgi-http-defaults":
            args = [a for a in args if a == "--allow-root"]
        # callgrind counts the process it starts: the one that serves, not a master.
        if "--no-master" in ctx._usage("wsgi-http"):
            args.append("--no-master")
        return [ctx.ours("wsgi-http"), "--app", app.file, "--bind", addr] + args, signal.SIGTERM
    servers.need("uwsgi")
    # One process, no master: the worker is the process callgrind watches.
    flag = "--http11-socket" if kind == "uwsgi-http11" else "--http-socket"
    return (["uwsgi", "--plugin", "python3", flag, addr, "--wsgi-file", app.file,
             "--processes", "1", "--disable-logging", "--need-app"], signal.SIGINT)


def _measure(ctx, kind, n, close=False):
    app = servers.apps(ctx.source_root)["hello"]
    port = procs.free_port()
    argv, stop_sig = _argv(ctx, kind, app, f"127.0.0.1:{port}")
    out = os.path.join(ctx.tmp, f"callgrind-{kind}-{'close' if close else 'ka'}-{n}.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--trace-children=no"]
    p = procs.spawn(vg + argv, out[:-len(".out")] + ".log",
                    env=SEEDED, cwd=app.dir)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", [p], timeout=180)
        _client(port, n, close)
    finally:
        procs.stop(p, sig=stop_sig, grace=120)
    return _totals(out, p)


def _app_alone(ctx, n):
    """Instructions of n calls of the hello app by a plain Python loop."""
    app = servers.apps(ctx.source_root)["hello"]
    script = os.path.join(ctx.tmp, f"app-loop-{n}.py")
    with open(script, "w") as f:
        f.write(APP_LOOP.format(dir=app.dir, module=app.module, callable=app.callable, n=n))
    out = os.path.join(ctx.tmp, f"callgrind-app-{n}.out")
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                           "/usr/bin/python3", "-B", script], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, **SEEDED))
    if done.returncode != 0:
        raise load.LoadError(f"app loop failed: {done.stderr[-1000:]}")
    return _totals(out, None)


def _totals(out, proc):
    files = glob.glob(out + "*")
    if not files:
        tail = procs.log_tail(proc) if proc else ""
        raise load.LoadError(f"callgrind wrote nothing ({out}):\n{tail}")
    total = 0
    for path in files:
        with open(path) as f:
            lines = [line for line in f if line.startswith("totals:")]
        if not lines:
            raise load.LoadError(f"{path}: no totals line")
        total += int(lines[-1].split()[1])
    return total


def run(ctx, say, only=None, n=None):
    """only: measure just the rows whose label contains one of these strings."""
    n = n or (200 if ctx.smoke else 5000)
    app_per_request = (_app_alone(ctx, WARMUP + n) - _app_alone(ctx, WARMUP)) / n
    say(f"      gateway cost / the hello app alone: {app_per_request:,.0f} instructions per call")
    rows = []
    for label, kind, close in ROWS:
        if only and not any(o in label for o in only):
            continue
        row = {"server": label, "kind": kind, "new_connections": close, "requests": n,
               "status": "ok"}
        rows.append(row)
        try:
            per_request = (_measure(ctx, kind, WARMUP + n, close) -
                           _measure(ctx, kind, WARMUP, close)) / n
        except Unavailable as exc:
            row.update(status="skip", reason=str(exc))
            say(f"SKIP  gateway cost / {label}: {exc}")
            continue
        row.update(instructions_per_request=per_request,
                   app_instructions_per_request=app_per_request,
                   gateway_instructions_per_request=per_request - app_per_request,
                   gateway_share=1 - app_per_request / per_request if per_request else None)
        say(f"      gateway cost / {label}: {per_request:,.0f} instructions per request, "
            f"{row['gateway_share'] * 100:.0f}% outside the app's Python")
    return rows


if __name__ == "__main__":
    # Alone, without the rest of bench/run: gateway_cost.py BUILD_DIR [-n N] [--only TEXT].
    import argparse
    import tempfile
    from context import Context
    parser = argparse.ArgumentParser(description="callgrind instructions per hello request")
    parser.add_argument("build_dir")
    parser.add_argument("-n", type=int, default=5000, help="measured requests per row")
    parser.add_argument("--only", action="append", help="rows whose label contains this")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory(prefix="gateway-cost-") as tmp:
        try:
            run(Context(root, os.path.abspath(args.build_dir), tmp, False, 0, 1),
                lambda line: print(line, flush=True), args.only, args.n)
        finally:
            procs.stop_all()
