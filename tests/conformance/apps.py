"""The conformance suite's applications: one small WSGI app per rule, chosen by the first
segment of PATH_INFO (/environ, /input/readline, ...). `application` serves them as they
are; `validated` serves the same apps wrapped in wsgiref.validate.validator, with its
warnings turned into errors, so a gateway that breaks PEP 3333 fails the rule.

The expected answers are in table.py; run.py sends the requests through every front end.
"""
import io
import json
import os
import resource
import sys
import time
import warnings
from wsgiref.validate import WSGIWarning, validator

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = os.path.join(HERE, "state")  # created world-writable by run.py (CGI runs as www-data)
SAMPLE = os.path.join(HERE, "sample.bin")

warnings.simplefilter("error", WSGIWarning)

TEXT = [("Content-Type", "text/plain")]
JSON = [("Content-Type", "application/json")]


def as_json(start_response, data, status="200 OK"):
    body = json.dumps(data, sort_keys=True).encode()
    start_response(status, JSON + [("Content-Length", str(len(body)))])
    return [body]


def rest(environ):
    """PATH_INFO after /<rule>."""
    path = environ.get("PATH_INFO", "")
    return "/" + path.lstrip("/").partition("/")[2]


# --- environ (PEP 3333 "environ Variables") ---------------------------------------------

REQUIRED_STR = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.url_scheme"]


def app_environ(environ, start_response):
    missing, bad = [], []
    for key in REQUIRED_STR + ["wsgi.version", "wsgi.input", "wsgi.errors", "wsgi.multithread",
                               "wsgi.multiprocess", "wsgi.run_once"]:
        if key not in environ:
            missing.append(key)
    for key in REQUIRED_STR:
        if key in environ and type(environ[key]) is not str:
            bad.append(key)
    for key, value in environ.items():
        if type(key) is not str:
            bad.append(repr(key))
        elif key.startswith(("HTTP_", "CONTENT_")) and type(value) is not str:
            bad.append(key)
        elif type(value) is str:
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                bad.append(key + " (not latin-1)")
    for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        if type(environ.get(key)) is not bool:
            bad.append(key)
    if environ.get("wsgi.version") != (1, 0):
        bad.append("wsgi.version")
    for name in ("read", "readline", "readlines", "__iter__"):
        if not hasattr(environ.get("wsgi.input"), name):
            bad.append("wsgi.input." + name)
    for name in ("write", "writelines", "flush"):
        if not hasattr(environ.get("wsgi.errors"), name):
            bad.append("wsgi.errors." + name)
    return as_json(start_response, {
        "missing": missing, "bad_types": bad, "run_once": environ.get("wsgi.run_once"),
        "url_scheme": environ.get("wsgi.url_scheme"), "method": environ.get("REQUEST_METHOD"),
        "protocol": environ.get("SERVER_PROTOCOL"), "host": environ.get("HTTP_HOST"),
        "header": environ.get("HTTP_X_CONFORMANCE"),
        "has_file_wrapper": callable(environ.get("wsgi.file_wrapper"))})


def app_path(environ, start_response):
    """PATH_INFO, SCRIPT_NAME and QUERY_STRING as the app sees them."""
    return as_json(start_response, {k: environ.get(k) for k in
                                    ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING")})


def app_length(environ, start_response):
    """CONTENT_LENGTH as given, and what a read up to it returns."""
    cl = environ.get("CONTENT_LENGTH")
    n = int(cl) if cl else 0
    body = environ["wsgi.input"].read(n) if n else b""
    return as_json(start_response, {"CONTENT_LENGTH": cl, "body": body.decode("latin-1"),
                                    "eof": environ["wsgi.input"].read(1).decode("latin-1")})


# --- wsgi.input (PEP 3333 "Input and Error Streams") -------------------------------------

def app_input(environ, start_response):
    stream = environ["wsgi.input"]
    how = rest(environ)
    if how == "/read":
        out = [stream.read()]
    elif how == "/read-n":
        out = [stream.read(3), stream.read(4), stream.read(100), stream.read(10), stream.read(1)]
    elif how == "/readline":
        out = [stream.readline() for _ in range(5)]
    elif how == "/readline-limit":
        out = [stream.readline(3), stream.readline(100), stream.readline(2), stream.readline(100),
               stream.readline(100), stream.readline(5)]
    elif how == "/readlines":
        out = stream.readlines()
    elif how == "/iter":
        out = list(stream)
    else:
        out = []
    return as_json(start_response, [chunk.decode("latin-1") for chunk in out])


# --- the response (PEP 3333 "The start_response() Callable") -----------------------------

def app_write(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"one ")
    write(b"two ")
    return [b"three ", b"four"]


def app_twice(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        start_response("201 Created", TEXT)
    except Exception as e:  # PEP 3333: a second call without exc_info is an error
        return [b"second call raised " + type(e).__name__.encode()]
    return [b"second call accepted"]


def app_exc_before(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise ValueError("failed before the body")
    except ValueError:
        start_response("500 Internal Server Error", TEXT + [("X-Replaced", "yes")], sys.exc_info())
    return [b"replaced by the error page"]


def app_exc_after(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"partial ")
    try:
        raise ValueError("failed after the headers")
    except ValueError:
        # PEP 3333: with headers sent, start_response must re-raise exc_info.
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"never sent"]


def app_headers(environ, start_response):
    """An invalid header given to start_response must be refused (PEP 3333: header names
    and values are latin-1 strings without control characters, RFC 9110 §5.1/§5.5)."""
    case = rest(environ)
    bad = {"/space": [("Bad Name", "x")], "/colon": [("Bad:Name", "x")],
           "/newline": [("X-Bad", "a\r\nInjected: yes")], "/lf": [("X-Bad", "a\nInjected: yes")],
           "/non-latin1": [("X-Bad", "\u20ac")], "/bytes": [(b"X-Bad", "x")],
           "/empty": [("", "x")]}[case]
    try:
        start_response("200 OK", TEXT + bad)
    except Exception as e:
        start_response("200 OK", TEXT, sys.exc_info())
        return [b"refused " + type(e).__name__.encode()]
    return [b"accepted"]


def app_cookies(environ, start_response):
    start_response("200 OK", TEXT + [("Set-Cookie", "a=1; Path=/"), ("X-Between", "x"),
                                     ("Set-Cookie", "b=2; Path=/"), ("Set-Cookie", "c=3")])
    return [b"cookies"]


def app_status(environ, start_response):
    """HEAD, 204 and 304 carry no body even when the app returns one (RFC 9110 §9.3.2,
    §15.3.5, §15.4.5)."""
    code = rest(environ).strip("/") or "200"
    status = {"200": "200 OK", "204": "204 No Content", "304": "304 Not Modified"}[code]
    start_response(status, TEXT)
    return [b"a body the client must not see" if code != "200" else b"hello head"]


# --- Content-Length against the body (README "WSGI behaviour worth knowing") -------------

def app_cl_long(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "5")])
    return [b"01234", b"56789"]


def app_cl_short(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "10")])
    return [b"01234"]


# --- wsgi.file_wrapper (PEP 3333 "Optional Platform-Specific File Handling") -------------

def app_file(environ, start_response):
    case = rest(environ)
    if case == "/real":
        f = open(SAMPLE, "rb")
        size = os.path.getsize(SAMPLE)
    elif case == "/offset":
        f = open(SAMPLE, "rb")
        f.seek(1000)
        size = os.path.getsize(SAMPLE) - 1000
    else:  # a file-like object without fileno(): iterated in blocks
        f = io.BytesIO(open(SAMPLE, "rb").read())
        size = len(f.getvalue())
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](f, 8192)


# --- close() exactly once (PEP 3333: "the server must call close() on completion") ------

class Closing:
    def __init__(self, token, chunks, fail_at=None, delay=0.0):
        self.token, self.chunks, self.fail_at, self.delay = token, chunks, fail_at, delay
        self.start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("the iterable failed")
            if self.delay:
                time.sleep(self.delay)
            yield chunk

    def close(self):
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.start_rss
        with open(os.path.join(STATE, self.token), "a") as f:
            f.write(f"close {grown}\n")


def app_close(environ, start_response):
    case, _, token = rest(environ).strip("/").partition("/")
    token = "".join(c for c in token if c.isalnum())
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if case == "ok":
        return Closing(token, [b"a", b"b"])
    if case == "error":
        return Closing(token, [b"first ", b"second"], fail_at=1)
    if case == "disconnect":  # 64 MiB trickled: the client goes away long before the end
        return Closing(token, (b"x" * 65536 for _ in range(1024)), delay=0.002)
    if case == "big":  # 100 MiB from a generator; close() records the peak RSS growth
        return Closing(token, (b"y" * 65536 for _ in range(1600)))
    return Closing(token, [])


def app_closed(environ, start_response):
    token = "".join(c for c in rest(environ) if c.isalnum())
    try:
        with open(os.path.join(STATE, token)) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        lines = []
    lines = [line for line in lines if line]
    return as_json(start_response, {"closes": len(lines),
                                    "rss_growth_kib": [int(l.split()[1]) for l in lines]})


def app_slow(environ, start_response):
    """4 MiB the client reads slowly: nothing may be lost or reordered."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (bytes([65 + i % 26]) * 65536 for i in range(64))


APPS = {"environ": app_environ, "path": app_path, "length": app_length, "input": app_input,
        "write": app_write, "twice": app_twice, "exc-before": app_exc_before,
        "exc-after": app_exc_after, "headers": app_headers, "cookies": app_cookies,
        "status": app_status, "cl-long": app_cl_long, "cl-short": app_cl_short,
        "file": app_file, "close": app_close, "closed": app_closed, "slow": app_slow}


def application(environ, start_response):
    name = environ.get("PATH_INFO", "").lstrip("/").partition("/")[0]
    app = APPS.get(name)
    if app is None:
        start_response("404 Not Found", TEXT)
        return [b"no such rule\n"]
    return app(environ, start_response)


_validated = {name: validator(app) for name, app in APPS.items()}


def validated(environ, start_response):
    name = environ.get("PATH_INFO", "").lstrip("/").partition("/")[0]
    app = _validated.get(name)
    if app is None:
        start_response("404 Not Found", TEXT)
        return [b"no such rule\n"]
    return app(environ, start_response)
