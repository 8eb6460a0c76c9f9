"""The in-process call API's test application (tests/unit/wsgi/call_test.cpp).

Reads the body the classic way (CONTENT_LENGTH, as Django and WebOb do), so an echo
proves CONTENT_LENGTH reached the environ.
"""
import threading
import time

_lock = threading.Lock()
_inside = 0
_max_inside = 0


def application(environ, start_response):
    global _inside, _max_inside
    path = environ["PATH_INFO"]
    if path == "/hello":
        text = "hello %s via %s from %s, script %s" % (
            environ["QUERY_STRING"], environ["wsgi.url_scheme"], environ.get("REMOTE_ADDR"),
            environ["SCRIPT_NAME"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [text.encode()]
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("201 Created", [("Content-Type", environ.get("CONTENT_TYPE", "")),
                                       ("X-Length", environ.get("CONTENT_LENGTH", "absent"))])
        return [body]
    if path == "/raise":
        raise ValueError("no item 42")
    if path == "/stream":
        def gen():
            for i in range(5):
                yield b"part %d;" % i
        start_response("200 OK", [("Content-Type", "text/plain")])
        return gen()
    if path == "/raise-midway":
        def gen():
            yield b"first;"
            raise KeyError("gone")
        start_response("200 OK", [])
        return gen()
    if path == "/headers":
        start_response("200 OK", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                  ("X-Cookie-In", environ.get("HTTP_COOKIE", "")),
                                  ("X-Accept-In", environ.get("HTTP_ACCEPT", ""))])
        return [b""]
    if path == "/overlap":
        # Counts the calls inside the app at once; time.sleep releases the GIL, so
        # only a server-side lock keeps them from overlapping.
        with _lock:
            _inside += 1
            _max_inside = max(_max_inside, _inside)
        time.sleep(0.005)
        with _lock:
            _inside -= 1
        start_response("200 OK", [])
        return [str(environ["wsgi.multithread"]).encode()]
    if path == "/max-overlap":
        with _lock:
            seen, _max_inside = _max_inside, 0
        start_response("200 OK", [])
        return [str(seen).encode()]
    start_response("404 Not Found", [])
    return [b"not found"]
