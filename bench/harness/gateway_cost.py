"""Gateway cost per request, deterministic: instructions counted by callgrind while the
server answers W + N hello requests on one keep-alive connection (or, in the
new-connection rows, each request on a connection of its own with `Connection: close`;
in the FastCGI rows each request on a unix socket connection of its own, as nginx
without fastcgi_keep_conn and mod_fcgid send them), minus the same server answering W
requests, divided by N. W = 10 warm-up requests rather than 0: the first
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
import struct
import subprocess
import time

import load
import procs
import servers
from servers import Unavailable

WARMUP = 10
# A fixed str hash seed: dict layouts, hence instruction counts, repeat from run to run
# (uWSGI's interpreter, the app loop's and ours all read PYTHONHASHSEED).
SEEDED = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
# What examples/hello.py answers: every response is checked against it.
HELLO_BODY = b"Hello, World!\n"

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
            chunk = sock.recv(65536)
            if not chunk:
                raise load.LoadError("server closed the connection mid-body")
            rest += chunk
        if rest[:length] != HELLO_BODY:
            raise load.LoadError(f"bad body: {rest[:length][:100]!r}")
        buf = rest[length:]
        done += 1
        # uWSGI --http-socket closes without saying "Connection: close".
        if close or re.search(rb"(?i)connection:\s*close", head):
            sock.close()
            sock = None
    if sock:
        sock.close()


# FastCGI 1.0 (section 8): record types, the responder role, protocol status.
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = \
    1, 3, 4, 5, 6, 7
FCGI_RESPONDER, FCGI_REQUEST_COMPLETE = 1, 0

# What nginx 1.22.1 sends with Debian's stock /etc/nginx/fastcgi_params for `curl
# http://127.0.0.1:8080/` (captured from a real nginx): the params file's 20 (REMOTE_USER
# empty, HTTP_HOST from $host, HTTPS left out as `if_not_empty`) and the two request
# headers the file does not already set. The values are fixed: callgrind counts repeat.
NGINX_PARAMS = [
    ("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
    ("CONTENT_LENGTH", ""), ("SCRIPT_NAME", "/"), ("REQUEST_URI", "/"), ("DOCUMENT_URI", "/"),
    ("DOCUMENT_ROOT", "/usr/share/nginx/html"), ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("REQUEST_SCHEME", "http"), ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("SERVER_SOFTWARE", "nginx/1.22.1"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "40000"),
    ("REMOTE_USER", ""), ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "8080"),
    ("SERVER_NAME", ""), ("REDIRECT_STATUS", "200"), ("HTTP_HOST", "127.0.0.1"),
    ("HTTP_USER_AGENT", "curl/7.88.1"), ("HTTP_ACCEPT", "*/*"),
]


def _fcgi_record(rtype, content, request_id=1):
    """One record, padded to a multiple of 8 bytes as nginx pads them (FastCGI 1.0
    section 3.3: padding is the sender's choice, 8-byte alignment recommended)."""
    padding = -len(content) % 8
    return (struct.pack("!BBHHBx", 1, rtype, request_id, len(content), padding) + content
            + b"\0" * padding)


def _fcgi_length(n):
    # FastCGI 1.0 section 3.4: one byte below 128, else four with the high bit set.
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def _fcgi_request():
    """BEGIN_REQUEST (responder, flags 0: no FCGI_KEEP_CONN), the params, the empty
    PARAMS and STDIN that end both streams: what nginx writes, in one write, for a GET."""
    pairs = b"".join(_fcgi_length(len(k)) + _fcgi_length(len(v)) + k.encode() + v.encode()
                     for k, v in NGINX_PARAMS)
    return (_fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", FCGI_RESPONDER, 0))
            + _fcgi_record(FCGI_PARAMS, pairs) + _fcgi_record(FCGI_PARAMS, b"")
            + _fcgi_record(FCGI_STDIN, b""))


def _fcgi_exchange(path, request):
    """One request on a connection of its own; returns the STDOUT stream once the server
    has ended the request and, the request not asking to keep the connection, closed it
    (FastCGI 1.0 section 5.1)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(120)
        sock.connect(path)
        sock.sendall(request)
        buf, stdout, ended = b"", b"", False
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, length, padding = struct.unpack("!BBHHBx", buf[:8])
                if len(buf) < 8 + length + padding:
                    break
                content, buf = buf[8:8 + length], buf[8 + length + padding:]
                if ended:
                    raise load.LoadError(f"record type {rtype} after FCGI_END_REQUEST")
                if rtype == FCGI_STDOUT:
                    stdout += content
                elif rtype == FCGI_STDERR:
                    if content:
                        raise load.LoadError(f"FCGI_STDERR: {content[:200]!r}")
                elif rtype == FCGI_END_REQUEST:
                    _, status = struct.unpack("!IB3x", content)
                    if status != FCGI_REQUEST_COMPLETE:
                        raise load.LoadError(f"FCGI_END_REQUEST protocolStatus {status}")
                    ended = True
                else:
                    raise load.LoadError(f"unexpected record type {rtype}")
        if not ended:
            raise load.LoadError(f"connection closed before FCGI_END_REQUEST: {stdout[:200]!r}")
        if buf:
            raise load.LoadError(f"connection closed inside a record: {buf[:100]!r}")
        return stdout


def _fcgi_client(path, n):
    """n hello requests, each on a new connection, each checked: a CGI response (RFC 3875
    section 6) with status 200 (an absent Status field means 200) and the hello body."""
    request = _fcgi_request()
    for _ in range(n):
        stdout = _fcgi_exchange(path, request)
        head, sep, body = stdout.partition(b"\r\n\r\n")
        status = re.search(rb"(?im)^status:[ \t]*(\d{3})", head)
        if not sep or (status and status.group(1) != b"200") or body != HELLO_BODY:
            raise load.LoadError(f"bad answer: {stdout[:200]!r}")


# What each row runs: (label, server kind, a connection per request, the uWSGI row its
# instructions are compared with: the same protocol and the same use of connections).
HTTP11, HTTP_CLOSE = "uWSGI --http11-socket", "uWSGI --http-socket, new connection each"
UWSGI_FCGI = "uWSGI --fastcgi-socket, new connection each"
ROWS = [
    ("wsgi-http", "wsgi-http", False, HTTP11),
    (HTTP11, "uwsgi-http11", False, None),
    ("wsgi-http, default --threads, new connection each", "wsgi-http-defaults", True, HTTP_CLOSE),
    ("wsgi-http --threads 1, new connection each", "wsgi-http", True, HTTP_CLOSE),
    (HTTP_CLOSE, "uwsgi-http", True, None),
    ("wsgi-fcgi, unix socket, new connection each", "wsgi-fcgi", True, UWSGI_FCGI),
    (UWSGI_FCGI, "uwsgi-fastcgi", True, None),
]
FASTCGI_KINDS = ("wsgi-fcgi", "uwsgi-fastcgi")


def _argv(ctx, kind, app, addr):
    """addr: 127.0.0.1:PORT for HTTP, a unix socket path for FastCGI."""
    if kind in ("wsgi-http", "wsgi-http-defaults", "wsgi-fcgi"):
        program = "wsgi-fcgi" if kind == "wsgi-fcgi" else "wsgi-http"
        # The defaults row passes no --threads: the server's own default (and only the
        # --allow-root that ours_shape() adds as well).
        args = ctx.ours_shape(program, servers.Shape(1, 1))[0]
        if kind == "wsgi-http-defaults":
            args = [a for a in args if a == "--allow-root"]
        # callgrind counts the process it starts: the one that serves, not a master.
        if "--no-master" in ctx._usage(program):
            args.append("--no-master")
        bind = "unix:" + addr if kind == "wsgi-fcgi" else addr
        return [ctx.ours(program), "--app", app.file, "--bind", bind] + args, signal.SIGTERM
    servers.need("uwsgi")
    # One process, no master: the worker is the process callgrind watches.
    flag = {"uwsgi-http11": "--http11-socket", "uwsgi-http": "--http-socket",
            "uwsgi-fastcgi": "--fastcgi-socket"}[kind]
    return (["uwsgi", "--plugin", "python3", flag, addr, "--wsgi-file", app.file,
             "--processes", "1", "--disable-logging", "--need-app"], signal.SIGINT)


def _measure(ctx, kind, n, close=False):
    app = servers.apps(ctx.source_root)["hello"]
    name = f"{kind}-{'close' if close else 'ka'}-{n}"
    if kind in FASTCGI_KINDS:
        addr = os.path.join(ctx.tmp, f"{name}.sock")
    else:
        port = procs.free_port()
        addr = f"127.0.0.1:{port}"
    argv, stop_sig = _argv(ctx, kind, app, addr)
    out = os.path.join(ctx.tmp, f"callgrind-{name}.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--trace-children=no"]
    p = procs.spawn(vg + argv, out[:-len(".out")] + ".log",
                    env=SEEDED, cwd=app.dir)
    try:
        # Its one probe connection (opened and closed) is in both runs: it cancels out.
        procs.wait_ready(addr, [p], timeout=180)
        if kind in FASTCGI_KINDS:
            _fcgi_client(addr, n)
        else:
            _client(port, n, close)
        dump = _dump(p, out)
    finally:
        procs.stop(p, sig=stop_sig, grace=120)
    return _totals(dump, p)


def _dump(proc, out):
    """The counts up to now (start-up and the requests), written to OUT.1 by
    `callgrind_control --dump` while the server waits for the next request: how a server
    stops is no per-request cost, and uWSGI's does not repeat (after SIGINT it finalises
    the interpreter in some runs and not in others: about 10.6 million instructions, one
    run in three, which made its FastCGI row read 50.5k or 55.8k per request)."""
    dump = out + ".1"
    done = subprocess.run(["callgrind_control", "--dump", str(proc.pid)], capture_output=True,
                          text=True, timeout=60)
    if done.returncode != 0:
        raise load.LoadError(f"callgrind_control --dump {proc.pid} failed: "
                             f"{(done.stdout + done.stderr)[-500:]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(dump) as f:
                if any(line.startswith("totals:") for line in f):
                    return dump
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise load.LoadError(f"callgrind_control --dump wrote no complete {dump}")


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
    """The instructions in callgrind's file `out` (with the parts it split it into)."""
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


def _compile_app(app):
    """Writes the app's byte code before anything is measured: our servers write
    __pycache__ (uWSGI compiles --wsgi-file each start, the app loop runs with -B), and
    compiling it inside the first W + N run (about 12 million instructions) would count
    as a per-request cost of whichever row runs first in a fresh checkout."""
    done = subprocess.run(["/usr/bin/python3", "-c",
                           "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
                           app.file], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise load.LoadError(f"cannot compile {app.file}: {done.stderr[-500:]}")


def run(ctx, say, only=None, n=None):
    """only: measure just the rows whose label contains one of these strings."""
    n = n or (200 if ctx.smoke else 5000)
    _compile_app(servers.apps(ctx.source_root)["hello"])
    app_per_request = (_app_alone(ctx, WARMUP + n) - _app_alone(ctx, WARMUP)) / n
    say(f"      gateway cost / the hello app alone: {app_per_request:,.0f} instructions per call")
    rows = []
    for label, kind, close, peer in ROWS:
        if only and not any(o in label for o in only):
            continue
        row = {"server": label, "kind": kind, "new_connections": close, "requests": n,
               "protocol": "FastCGI" if kind in FASTCGI_KINDS else "HTTP",
               "compared_with": peer, "status": "ok"}
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
    # Ours over the uWSGI row of the same protocol and connections (when it was measured).
    measured = {r["server"]: r for r in rows if r["status"] == "ok"}
    for r in measured.values():
        peer = measured.get(r["compared_with"])
        if peer and peer["instructions_per_request"]:
            r["ratio_to_uwsgi"] = r["instructions_per_request"] / peer["instructions_per_request"]
            say(f"      gateway cost / {r['server']}: {r['ratio_to_uwsgi']:.2f}x the "
                f"instructions of {peer['server']}")
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
            rows = run(Context(root, os.path.abspath(args.build_dir), tmp, False, 0, 1),
                       lambda line: print(line, flush=True), args.only, args.n)
        finally:
            procs.stop_all()
    # The table bench/run writes into latest.md.
    import report
    print("\n".join(report._cost_md({"gateway_cost": rows})))
