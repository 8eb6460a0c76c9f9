"""The framework matrix: seven real applications (examples/frameworks/*/app.py) through
one deployment of wsgi-bridge, each compared route by route with the standard
library's wsgiref server mounted at the same prefix.

usage: matrix.py --front NAME [--results FILE] [--apps a,b]

Exit 0 when every framework gives the reference's answers; the results file (JSON)
says, per framework, which routes differed and how (scripts/compat-table.py turns the
files of a run into the README's table).
"""
import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateways  # noqa: E402

FRAMEWORKS = ["flask", "django", "bottle", "falcon", "pyramid", "webob", "werkzeug"]

# What only the server changes, dropped before comparing:
#   Server, Date: each server's own (RFC 9110 §10.2.4, §6.6.1).
#   Connection, Keep-Alive, Transfer-Encoding, Content-Length: message framing is the
#     server's choice (RFC 9112 §6, §7.1); wsgiref answers HTTP/1.0 and closes, the others
#     keep alive and may chunk. The body bytes are compared, so a wrong length still fails.
#   The reason phrase is not compared at all: RFC 9112 §4 lets a server replace it
#     (Apache does), and clients ignore it.
SERVER_HEADERS = {"server", "date", "connection", "keep-alive", "transfer-encoding",
                  "content-length"}

# Headers a server adds to the app's response on its own, dropped only when the reference
# (the app under wsgiref) did not send them: lighttpd announces "Accept-Ranges: bytes" on
# every 200 it relays (its server.range-requests, on by default).
SERVER_ADDED = {"lighttpd": {"accept-ranges"}}

# What the frameworks make different on every run, masked on both sides: signed session
# cookies that embed the signing time (Flask/itsdangerous, Django signing, Pyramid's
# SignedCookieSessionFactory), Django's random CSRF token (cookie and form field), and
# cookie expiry dates computed from the clock. The session routes are then checked by
# their bodies ("visits 2" proves the cookie round-tripped through the gateway).
TIME_DEPENDENT_COOKIES = {"session", "sessionid", "csrftoken"}
MASKS = [
    (re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"'),
     b'name="csrfmiddlewaretoken" value="<token>"'),
]

# A non-ASCII path (PEP 3333: PATH_INFO is the latin-1 native string of the raw bytes,
# which frameworks decode as UTF-8) and a space.
NON_ASCII = "/hello/caf%C3%A9%20cr%C3%A8me"

UPLOAD = bytes(range(256)) * 200 + b"\r\n--boundary-lookalike\r\n" * 3
BOUNDARY = "compatboundary7MA4YWxkTrZu0gW"


def multipart(fields, files):
    out = b""
    for name, value in fields:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for name, filename, data in files:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def cookie_header(reply):
    """name=value pairs of a reply's Set-Cookie headers, for the next request."""
    pairs = []
    for k, v in reply.headers:
        if k.lower() == "set-cookie":
            pairs.append(v.split(";", 1)[0].strip())
    return "; ".join(pairs)


def session(send):
    """The requests of one application, in order; `send(method, path, headers, body)`
    returns a Reply. Yields (route label, Reply)."""
    form_headers = [("Content-Type", "application/x-www-form-urlencoded")]
    yield "GET /", send("GET", "/")
    yield "GET /hello/world", send("GET", "/hello/world")
    yield "GET non-ASCII path", send("GET", NON_ASCII)
    yield "GET /redirect", send("GET", "/redirect")
    yield "GET /stream", send("GET", "/stream")
    yield "GET /file", send("GET", "/file")
    yield "GET /missing", send("GET", "/missing")
    yield "GET /error", send("GET", "/error")
    yield "GET /cookies", send("GET", "/cookies", [("Cookie", "flavor=oatmeal")])
    first = send("GET", "/session")
    yield "GET /session (new)", first
    yield "GET /session (again)", send("GET", "/session", [("Cookie", cookie_header(first))])
    form = send("GET", "/form")
    yield "GET /form", form
    body = "name=Zo%C3%AB+%26+co"
    headers = list(form_headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]*)"', form.body)
    if token:  # Django: the token of the form and the cookie that came with it
        body += "&csrfmiddlewaretoken=" + token.group(1).decode()
        headers.append(("Cookie", cookie_header(form)))
    yield "POST /form", send("POST", "/form", headers, body.encode())
    data = multipart([("note", "a note")], [("file", "data.bin", UPLOAD)])
    csrf = cookie_header(form)
    up_headers = [("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")]
    if token:
        data = multipart([("note", "a note"), ("csrfmiddlewaretoken", token.group(1).decode())],
                         [("file", "data.bin", UPLOAD)])
        up_headers.append(("Cookie", csrf))
    yield "POST /upload", send("POST", "/upload", up_headers, data)


# What the reference itself must answer, so that a broken reference (or a broken app)
# cannot make every front end "pass" by failing the same way.
EXPECTED = {
    "GET /": (200, b"index "), "GET /hello/world": (200, b"hello world\n"),
    "GET non-ASCII path": (200, "hello café crème\n".encode()),
    "GET /redirect": ((302, 303), b""), "GET /stream": (200, b"chunk 0\nchunk 1\nchunk 2\n"),
    "GET /file": (200, b"line 000: "), "GET /missing": (404, b""), "GET /error": (500, b""),
    "GET /cookies": (200, b"flavor=oatmeal\n"), "GET /session (new)": (200, b"visits 1\n"),
    "GET /session (again)": (200, b"visits 2\n"), "GET /form": (200, b"<form"),
    "POST /form": (200, "posted name=Zoë & co\n".encode()),
    "POST /upload": (200, f"data.bin {len(UPLOAD)} {hashlib.sha256(UPLOAD).hexdigest()} "
                          "note=a note\n".encode()),
}


def reference_ok(label, reply):
    status, start = EXPECTED[label]
    statuses = status if isinstance(status, tuple) else (status,)
    return reply.status in statuses and reply.body.startswith(start)


def normalise(reply):
    """What is compared: status, the app's headers, the body (see SERVER_HEADERS)."""
    headers = []
    for k, v in reply.headers:
        k = k.lower()
        if k in SERVER_HEADERS:
            continue
        if k == "set-cookie":
            name = v.split("=", 1)[0].strip()
            if name in TIME_DEPENDENT_COOKIES:
                v = name + "=<signed>" + (";" + v.split(";", 1)[1] if ";" in v else "")
            v = re.sub(r"(?i)expires=[^;]*", "expires=<date>", v)
        headers.append((k, v))
    # The order of different field names is not significant (RFC 9110 §5.3); the
    # order of repeated ones (Set-Cookie) is: a stable sort by name keeps it.
    headers.sort(key=lambda kv: kv[0])
    body = reply.body
    for pattern, repl in MASKS:
        body = pattern.sub(repl, body)
    return {"status": reply.status, "headers": headers, "body": body, "error": reply.error}


def server_error_page(ref, got):
    """An exception that escapes the app (Pyramid, plain WebOb/Werkzeug have no error
    view) is answered by the server itself: wsgiref's 500 page and ours differ in
    wording and headers only, so a 500 on both sides is the same answer."""
    return (ref["status"] == got["status"] == 500
            and ref["body"] == b"A server error occurred.  Please contact the administrator.")


def describe(ref, got):
    if got["error"]:
        return f"no reply: {got['error']}"
    diffs = []
    if ref["status"] != got["status"]:
        diffs.append(f"status {got['status']} != {ref['status']}")
    if ref["headers"] != got["headers"]:
        a, b = set(ref["headers"]), set(got["headers"])
        diffs.append(f"headers only here {sorted(b - a)}, missing {sorted(a - b)}"
                     if a != b else f"header order {got['headers']} != {ref['headers']}")
    if ref["body"] != got["body"]:
        diffs.append(f"body {got['body'][:300]!r} ({len(got['body'])} bytes) != "
                     f"{ref['body'][:300]!r} ({len(ref['body'])} bytes)")
    return "; ".join(diffs)


def run(front_name, apps, results_path):
    failures = {}
    # The distribution names are the frameworks' own (the table shows their versions).
    results = {"front": front_name, "frameworks": {},
               "versions": {a: importlib.metadata.version(a) for a in apps}}
    with tempfile.TemporaryDirectory(prefix="wsgibridge-compat-") as tmp:
        Path(tmp).chmod(0o755)
        # The apps are copied so that byte code written by the CGI user and by us stays
        # out of the source tree.
        src = gateways.SOURCE_ROOT / "examples" / "frameworks"
        shutil.copytree(src, Path(tmp) / "frameworks", ignore=shutil.ignore_patterns("__pycache__"))
        for p in [Path(tmp) / "frameworks"] + list((Path(tmp) / "frameworks").rglob("*")):
            p.chmod(0o755 if p.is_dir() else 0o644)
        files = {a: str(Path(tmp) / "frameworks" / a / "app.py") for a in apps}
        started = time.monotonic()
        ref = front = None
        try:
            front = gateways.FRONTS[front_name](files, tmp)
            ref = gateways.Reference(files, tmp, [(a, front.prefix(a)) for a in apps])
            print(f"{front_name}: servers up in {time.monotonic() - started:.1f} s", flush=True)
            for a in apps:
                prefix = front.prefix(a)
                routes = {}
                ref_replies = dict(session(lambda m, p, h=(), b=b"": ref.request_at(prefix, m, p, h, b)))
                got_replies = dict(session(lambda m, p, h=(), b=b"": front.request(a, m, p, h, b)))
                for label, r in ref_replies.items():
                    want, got = normalise(r), normalise(got_replies[label])
                    added = SERVER_ADDED.get(front_name, set()) - {k for k, _ in want["headers"]}
                    got["headers"] = [(k, v) for k, v in got["headers"] if k not in added]
                    ok = want == got or (not got["error"] and server_error_page(want, got))
                    if not reference_ok(label, r):
                        routes[label] = f"the reference answered {r.status} {r.body[:200]!r}"
                    else:
                        routes[label] = "pass" if ok else describe(want, got)
                bad = {k: v for k, v in routes.items() if v != "pass"}
                results["frameworks"][a] = {"pass": not bad, "routes": routes}
                print(f"  {a:9} {'pass' if not bad else 'FAIL'}", flush=True)
                for k, v in bad.items():
                    print(f"      {k}: {v}", flush=True)
                if bad:
                    failures[a] = bad
        except gateways.Missing as e:
            print(f"FAIL: {e}")
            results["error"] = str(e)
            failures["*"] = str(e)
        finally:
            for f in (front, ref):
                if f is not None:
                    f.stop()
            if failures and front is not None:
                print(front.logs()[-12000:])
        results["seconds"] = round(time.monotonic() - started, 1)
        print(f"{front_name}: {results['seconds']} s")
    if results_path:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        Path(results_path).write_text(json.dumps(results, indent=1, default=str))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--front", required=True, choices=sorted(gateways.FRONTS))
    ap.add_argument("--results")
    ap.add_argument("--apps", default=",".join(FRAMEWORKS))
    a = ap.parse_args()
    return run(a.front, a.apps.split(","), a.results)


if __name__ == "__main__":
    sys.exit(main())
