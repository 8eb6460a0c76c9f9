"""Cases for the invoker's python tests (tests/unit/wsgi), one app routed by PATH_INFO.

Each route exercises one PEP 3333 rule; /stats returns how many times each named
iterable's close() ran, so the C++ tests can check "close() exactly once" (PEP 3333: close() must be called).
`validated` is the same app behind wsgiref.validate.validator (the oracle), with its
warnings turned into errors so any violation becomes a 500 the test sees.
"""
import atexit
import io
import json
import os
import sys
import tempfile
import threading
import time
import warnings
import weakref
from urllib.parse import parse_qs
from wsgiref.validate import validator, WSGIWarning

closed = {}
_lock = threading.Lock()


def _unraisable(u):
    # e.g. wsgiref.validate's "Iterator garbage collected without being closed"
    _count("@unraisable")
    sys.__stderr__.write("unraisable: %r\n" % (u.exc_value,))


sys.unraisablehook = _unraisable
_saved_write = []

FILE_DATA = bytes(range(256)) * 40  # 10240 bytes
_fd, FILE_PATH = tempfile.mkstemp(prefix="wsgibridge-cases-")
os.write(_fd, FILE_DATA)
os.close(_fd)
atexit.register(os.unlink, FILE_PATH)  # runs at Py_FinalizeEx


def _count(name):
    with _lock:
        closed[name] = closed.get(name, 0) + 1


class Closing:
    """An iterable with close() that counts its calls; raises at item `raise_at`."""

    def __init__(self, name, items, raise_at=None):
        self.name, self.items, self.raise_at = name, items, raise_at

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.raise_at:
                raise RuntimeError("boom in iteration")
            yield item

    def close(self):
        _count(self.name)


class CountingReader(io.BufferedReader):
    def __init__(self, name, path):
        super().__init__(io.FileIO(path, "rb"))
        self.counter = name

    def close(self):
        _count(self.counter)
        super().close()


def _q(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _text(start_response, text, status="200 OK", exc_info=None):
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")], exc_info)
    return [body]


_CACHED_NAME = "-".join(["X", "Cached"])  # built at run time: one object, not a literal
_HOP_NAME = "-".join(["Keep", "Alive"])


class _Name(str):
    pass


_CACHE_CASES = {
    "ok": (_CACHED_NAME, "ok"),
    "nul": (_CACHED_NAME, "a\0b"),
    "int": (_CACHED_NAME, 1),
    "hop": (_HOP_NAME, "timeout=5"),
    "subclass": (_Name("X-Sub"), "ok"),
    "subclass-bad": (_Name("X Sub"), "ok"),
}

BAD_HEADS = {
    "nul_value": ("200 OK", [("X-A", "a\0b")]),
    "crlf_value": ("200 OK", [("X-A", "a\r\nSet-Cookie: x=1")]),
    "lf_value": ("200 OK", [("X-A", "a\nb")]),
    "ctl_value": ("200 OK", [("X-A", "a\x01b")]),
    "euro_value": ("200 OK", [("X-A", "\u20ac")]),
    "space_name": ("200 OK", [("X A", "v")]),
    "colon_name": ("200 OK", [("X-A:", "v")]),
    "empty_name": ("200 OK", [("", "v")]),
    "int_value": ("200 OK", [("X-A", 1)]),
    "bytes_name": ("200 OK", [(b"X-A", "v")]),
    "triple": ("200 OK", [("X-A", "v", "w")]),
    "tuple_headers": ("200 OK", (("X-A", "v"),)),
    "status_2digit": ("20 OK", []),
    "status_nospace": ("200OK", []),
    "status_letters": ("2x0 OK", []),
    "status_600": ("600 Nope", []),
    "status_bytes": (b"200 OK", []),
    "status_crlf": ("200 OK\r\nX: y", []),
    "status_euro": ("200 \u20ac", []),
    "hop_connection": ("200 OK", [("Connection", "close")]),
    "hop_keep_alive": ("200 OK", [("Keep-Alive", "timeout=5")]),
    "hop_transfer_encoding": ("200 OK", [("transfer-encoding", "chunked")]),
    "hop_te": ("200 OK", [("TE", "trailers")]),
    "hop_trailer": ("200 OK", [("Trailer", "X")]),
    "hop_upgrade": ("200 OK", [("Upgrade", "websocket")]),
    "hop_proxy_authenticate": ("200 OK", [("Proxy-Authenticate", "Basic")]),
    "hop_proxy_authorization": ("200 OK", [("Proxy-Authorization", "Basic x")]),
    "cl_not_number": ("200 OK", [("Content-Length", "abc")]),
    "cl_conflict": ("200 OK", [("Content-Length", "1"), ("Content-Length", "2")]),
}


def bad_head(environ, start_response, case):
    status, headers = BAD_HEADS[case]
    try:
        start_response(status, headers)
    except Exception as e:
        return _text(start_response, "%s: %s" % (type(e).__name__, e), "200 OK", sys.exc_info())
    return _text(start_response, "accepted", "200 OK", sys.exc_info())


class _Marker(Exception):
    pass


def _exc_kept(start_response, write):
    """(write, 'kept' or 'dropped'): whether the exception passed as exc_info is still
    alive once the app dropped its own references (no gc: only a reference held
    elsewhere keeps it). write=None: the head is not sent, start_response sets it;
    else the head goes out with write() and start_response must re-raise."""
    try:
        raise _Marker()
    except _Marker:
        info = sys.exc_info()
        ref = weakref.ref(info[1])
        if write is None:
            write = start_response("500 Oops", [("Content-Type", "text/plain")], info)
        else:
            write(b"sent ")
            try:
                start_response("500 Oops", [], info)  # re-raises _Marker
            except _Marker:
                pass
        info = None
    return write, "kept" if ref() is not None else "dropped"


def route(environ, start_response):
    path = environ["PATH_INFO"]
    q = _q(environ)
    inp = environ["wsgi.input"]

    if path.startswith("/environ"):
        out = {}
        for k, v in environ.items():
            out[k] = v if isinstance(v, str) else repr(v)
        out["@types"] = {k: type(v).__name__ for k, v in environ.items()}
        environ["leaked"] = "yes"  # must not reach the next request (PEP 3333: a new environ dict per request)
        body = json.dumps(out, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/echo":
        body = inp.read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if path == "/input-ops":
        # ops=read:3,readline,readline:5,read  -> JSON list of latin-1 results
        results = []
        for op in q.get("ops", "").split(","):
            name, _, arg = op.partition(":")
            if name == "iter":
                results.append([x.decode("latin-1") for x in inp])
                continue
            fn = getattr(inp, name)
            if name == "readlines":
                r = fn(int(arg)) if arg else fn()
                results.append([x.decode("latin-1") for x in r])
                continue
            if name == "close":
                fn()
                results.append(None)
                continue
            r = fn(int(arg)) if arg else fn()
            results.append(r.decode("latin-1"))
        return _text(start_response, json.dumps(results))
    if path == "/input-error":
        try:
            inp.read()
        except OSError as e:
            if q.get("swallow"):
                return _text(start_response, "swallowed: %s" % e)
            raise
        return _text(start_response, "no error")
    if path.startswith("/header-cache/"):
        # The same name objects every time: the gateway checks a name once, then by
        # identity; the value is still checked on every call, a bad name never cached.
        name, value = _CACHE_CASES[path[len("/header-cache/"):]]
        try:
            start_response("200 OK", [(name, value)])
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e), "200 OK",
                         sys.exc_info())
        return [b"sent"]
    if path.startswith("/bad-head/"):
        return bad_head(environ, start_response, path[len("/bad-head/"):])
    if path == "/header-latin1":
        start_response("200 OK", [("X-A", "caf\u00e9"), ("X-Tab", "a\tb"),
                                  ("Content-Type", "text/plain")])
        return [b"ok"]
    if path == "/start-kw":
        start_response(status="202 Accepted", headers=[("X-Kw", "1")])
        try:
            start_response("200 OK", [], exc_info=None, bogus=1)
        except TypeError as e:
            msg = str(e)
        try:
            raise KeyError("k")
        except KeyError:
            start_response("203 Replaced", headers=[("X-Kw", "2")], exc_info=sys.exc_info())
        return [msg.encode()]
    if path == "/second-start":
        start_response("200 OK", [])
        try:
            start_response("200 OK", [])
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e), "200 OK", sys.exc_info())
        return [b"accepted"]
    if path == "/second-after-failed":
        try:
            start_response("bad", [])
        except ValueError:
            pass
        try:
            start_response("200 OK", [])
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e), "200 OK", sys.exc_info())
        return [b"accepted"]
    if path == "/exc-replace":
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("replaced")
        except ValueError:
            return _text(start_response, "error page", "500 Oops", sys.exc_info())
    if path == "/exc-none-tuple":
        # sys.exc_info() with no exception is (None, None, None): a second call with it
        # is a second call without exc_info.
        start_response("200 OK", [])
        try:
            start_response("500 Oops", [], sys.exc_info())
        except RuntimeError as e:
            return [("RuntimeError: %s" % e).encode()]
        return [b"accepted"]
    if path == "/exc-not-exception":
        write = start_response("200 OK", [])
        write(b"sent")
        try:
            start_response("500 Oops", [], ("a", "b", "c"))
        except TypeError as e:
            return [("TypeError: %s" % e).encode()]
        return [b"accepted"]
    if path == "/exc-dropped":
        # PEP 3333, start_response and exc_info: start_response keeps no reference to exc_info, neither when it
        # replaces the head nor when it re-raises (the traceback holds the app's frames).
        write, before = _exc_kept(start_response, None)
        _, after = _exc_kept(start_response, write)
        return [("before=%s after=%s" % (before, after)).encode()]
    if path == "/exc-after-sent":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial")
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Oops", [], sys.exc_info())  # re-raises ValueError
        return [b"unreachable"]
    if path == "/generator-late":
        def gen():
            start_response("201 Created", [("Content-Type", "text/plain")])
            yield b"made"
            yield b" it"
        return gen()
    if path == "/generator-raise-first":
        def gen():
            start_response("200 OK", [])
            raise RuntimeError("before the first chunk")
            yield b"never"
        return gen()
    if path == "/empty-then-raise":
        def gen():
            start_response("200 OK", [])
            yield b""
            yield b""
            raise RuntimeError("after empty chunks")
        return gen()
    if path == "/empty-chunks":
        start_response("200 OK", [])
        return Closing("empty-chunks", [b"", b"", b"data", b"", b"more"])
    if path == "/yield-str":
        start_response("200 OK", [])
        return Closing("yield-str", ["text"])
    if path == "/yield-str-after":
        start_response("200 OK", [])
        return Closing("yield-str-after", [b"ok", "text"])
    if path == "/bytes-result":
        start_response("200 OK", [])
        return b"hello"
    if path == "/none-result":
        start_response("200 OK", [])
        return None
    if path == "/no-start":
        return [b"body without head"]
    if path == "/no-start-empty":
        return []
    if path == "/closing":
        # n items of `size` bytes; cl= sets Content-Length; raise_at= raises there
        n, size = int(q.get("n", 2)), int(q.get("size", 5))
        headers = [("Content-Type", "text/plain")]
        if "cl" in q:
            headers.append(("Content-Length", q["cl"]))
        status = q.get("status", "200 OK")
        start_response(status, headers)
        items = [bytes([65 + i]) * size for i in range(n)]
        raise_at = int(q["raise_at"]) if "raise_at" in q else None
        return Closing(q.get("name", "closing"), items, raise_at)
    if path == "/close-raises":
        class Bad(Closing):
            def close(self):
                _count(self.name)
                raise RuntimeError("close failed")
        start_response("200 OK", [])
        return Bad("close-raises", [b"x"])
    if path == "/list":
        n = int(q.get("n", 1))
        headers = [("Content-Type", "text/plain")]
        if "cl" in q:
            headers.append(("Content-Length", q["cl"]))
        start_response(q.get("status", "200 OK"), headers)
        return [b"hello"] * n
    if path == "/tuple":
        start_response("200 OK", [])
        return (b"tuple",)
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"a")
        write(b"")
        return [b"b"]
    if path == "/write-empty-then-raise":
        write = start_response("200 OK", [])
        write(b"")
        raise RuntimeError("after write(b'')")
    if path == "/write-str":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            write("text")
        except TypeError as e:
            return [("TypeError: %s" % e).encode()]
        return [b"accepted"]
    # Reuse of the per-request objects (the gateway keeps one the app did not keep):
    # /ids names them, /sr-save keeps start_response, /sr-stale calls the kept one.
    if path == "/ids":
        return _text(start_response, "%d %d" % (id(start_response), id(inp)))
    if path == "/sr-save":
        _saved_write[:] = [start_response]
        return _text(start_response, "%d" % id(start_response))
    if path == "/sr-stale":
        try:
            _saved_write[0]("500 Stale", [("X-Stale", "1")])
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e))
        return _text(start_response, "accepted")
    if path == "/input-readline":
        return _text(start_response, repr(inp.readline()))
    if path == "/input-read":
        return _text(start_response, repr(inp.read()))
    if path == "/input-save":
        _saved_write[:] = [inp]
        return _text(start_response, "saved")
    if path == "/input-stale":
        try:
            _saved_write[0].read(1)
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e))
        return _text(start_response, "accepted")
    if path == "/thread-check":
        out = []
        t = threading.Thread(target=lambda: out.append(os.getpid()))
        t.start()
        t.join()
        return _text(start_response, "thread ran in %d" % out[0])
    if path == "/write-save":
        _saved_write[:] = [start_response("200 OK", [])]
        return [b"saved"]
    if path == "/write-stale":
        try:
            _saved_write[0](b"x")
        except Exception as e:
            return _text(start_response, "%s: %s" % (type(e).__name__, e))
        return _text(start_response, "accepted")
    if path == "/write-after-return":
        write = start_response("200 OK", [])
        def gen():
            try:
                write(b"late")
            except Exception as e:
                yield ("%s: %s" % (type(e).__name__, e)).encode()
                return
            yield b"accepted"
        return gen()
    if path == "/write-client-gone":
        write = start_response("200 OK", [])
        try:
            for _ in range(5):
                write(b"chunk")
        except OSError as e:
            _count("write-client-gone-oserror")
            raise
        return [b"end"]
    if path == "/raise":
        raise ValueError("raised before start_response")
    if path == "/raise-after-start":
        start_response("200 OK", [])
        raise ValueError("raised after start_response")
    if path == "/file":
        f = CountingReader("file", FILE_PATH)
        if "skip" in q:
            f.read(int(q["skip"]))
        headers = [("Content-Type", "application/octet-stream")]
        if "cl" in q:
            headers.append(("Content-Length", q["cl"]))
        start_response(q.get("status", "200 OK"), headers)
        return environ["wsgi.file_wrapper"](f, int(q.get("bs", 8192)))
    if path == "/file-rewrapped":
        # Middleware-style: the wrapper is iterated by a generator, so the gateway only
        # sees a generator and must iterate it (PEP 3333 'Optional Platform-Specific File Handling'), still closing the file.
        f = CountingReader("file-rewrapped", FILE_PATH)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper = environ["wsgi.file_wrapper"](f, 4096)

        def gen():
            try:
                for block in wrapper:
                    yield block
            finally:
                wrapper.close()
        return gen()
    if path == "/file-bytesio":
        f = io.BytesIO(FILE_DATA)
        f.read(int(q.get("skip", 0)))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 1000)
    if path == "/file-attrs":
        f = io.BytesIO(b"0123456789")
        w = environ["wsgi.file_wrapper"](f)
        f.read(3)
        info = [w.tell(), w.seekable(), w.blksize, w.filelike is f]
        return _text(start_response, json.dumps(info))
    if path == "/errors":
        err = environ["wsgi.errors"]
        err.write("first line\nsecond line\n")
        err.writelines(["third\n", "fourth\n"])
        err.flush()
        try:
            err.write(b"bytes")
        except TypeError as e:
            return _text(start_response, "TypeError: %s" % e)
        return _text(start_response, "accepted")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        delay = float(q.get("delay", 0))
        def gen():
            for i in range(int(q.get("n", 3))):
                if i and delay:
                    time.sleep(delay)
                yield b"chunk%d\n" % i
        return gen()
    if path == "/stats":
        with _lock:
            body = json.dumps(closed, sort_keys=True)
        return _text(start_response, body)
    if path == "/reset":
        with _lock:
            closed.clear()
        return _text(start_response, "{}")
    return _text(start_response, "no route " + path, "404 Not Found")


application = route

warnings.simplefilter("error", WSGIWarning)
validated = validator(route)
