"""Gateway cost per request, deterministic: instructions counted by callgrind while the
server answers N hello requests on one keep-alive connection, minus the same server
started and stopped with 0 requests, divided by N. The app's own Python is the inclusive
cost of the interpreter's frame evaluation (_PyEval_EvalFrameDefault); the rest is the
gateway (parsing, environ, start_response's C side, writing, the event loop)."""

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

APP_FRAME = "_PyEval_EvalFrameDefault"


def _client(port, n):
    """n GETs over keep-alive (reconnecting if the server closes), each checked for 200."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
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
        if re.search(rb"(?i)connection:\s*close", head):
            sock.close()
            sock = None
    if sock:
        sock.close()


def _argv(ctx, kind, app, addr):
    if kind == "wsgi-http":
        args, _ = ctx.ours_shape("wsgi-http", servers.Shape(1, 1))
        return [ctx.ours("wsgi-http"), "--app", app.file, "--bind", addr] + args, signal.SIGTERM
    servers.need("uwsgi")
    # One process, no master: the worker is the process callgrind watches.
    return (["uwsgi", "--plugin", "python3", "--http11-socket", addr, "--wsgi-file", app.file,
             "--processes", "1", "--disable-logging", "--need-app"], signal.SIGINT)


def _measure(ctx, kind, n):
    app = servers.apps(ctx.source_root)["hello"]
    port = procs.free_port()
    argv, stop_sig = _argv(ctx, kind, app, f"127.0.0.1:{port}")
    out = os.path.join(ctx.tmp, f"callgrind-{kind}-{n}.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--trace-children=no"]
    p = procs.spawn(vg + argv, os.path.join(ctx.tmp, f"callgrind-{kind}-{n}.log"),
                    env={"PYTHONDONTWRITEBYTECODE": "1"}, cwd=app.dir)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", [p], timeout=180)
        _client(port, n)
    finally:
        procs.stop(p, sig=stop_sig, grace=120)
    files = glob.glob(out + "*")
    if not files:
        raise load.LoadError(f"callgrind wrote nothing for {kind}:\n{procs.log_tail(p)}")
    total = frame = 0
    for path in files:
        total += _total(path)
        frame += _inclusive(path, APP_FRAME)
    return total, frame


def _total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise load.LoadError(f"{path}: no totals")


def _inclusive(path, function):
    done = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                          capture_output=True, text=True, timeout=300)
    for line in done.stdout.splitlines():
        if re.search(r"[:\s]" + re.escape(function) + r"(\s|'|$)", line):
            return int(line.split()[0].replace(",", ""))
    return 0


def run(ctx, say):
    n = 20 if ctx.smoke else 2000
    rows = []
    for kind in ("wsgi-http", "uwsgi-http11"):
        label = "wsgi-http" if kind == "wsgi-http" else "uWSGI --http11-socket"
        row = {"server": label, "kind": kind, "requests": n, "status": "ok"}
        rows.append(row)
        try:
            base_total, base_frame = _measure(ctx, kind, 0)
            total, frame = _measure(ctx, kind, n)
        except Unavailable as exc:
            row.update(status="skip", reason=str(exc))
            say(f"SKIP  gateway cost / {label}: {exc}")
            continue
        per_request = (total - base_total) / n
        app_per_request = (frame - base_frame) / n
        row.update(instructions_per_request=per_request,
                   app_instructions_per_request=app_per_request,
                   gateway_instructions_per_request=per_request - app_per_request,
                   gateway_share=1 - app_per_request / per_request if per_request else None)
        say(f"      gateway cost / {label}: {per_request:,.0f} instructions per request, "
            f"{row['gateway_share'] * 100:.0f}% outside the app's Python")
    return rows
