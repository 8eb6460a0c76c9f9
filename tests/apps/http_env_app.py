"""Test application for the HTTP front end's end-to-end tests.

/env...     the environ's string values as JSON (any path below /env too)
/echo       the request body back (read in pieces through wsgi.input.read(n))
/length     the number of body bytes and their sum, without echoing them
/stream     three chunks 0.4 s apart
/boom       raises before start_response
anything    404
"""
import json
import time


def _body_pieces(stream, size=65536):
    while True:
        piece = stream.read(size)
        if not piece:
            return
        yield piece


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/env"):
        env = {k: v for k, v in environ.items() if isinstance(v, str)}
        env["wsgi.multithread"] = environ["wsgi.multithread"]
        env["wsgi.input_terminated"] = environ.get("wsgi.input_terminated", False)
        body = json.dumps(env, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/echo":
        data = b"".join(_body_pieces(environ["wsgi.input"], 8191))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(data)))])
        return [data]
    if path == "/length":
        n = 0
        total = 0
        for piece in _body_pieces(environ["wsgi.input"]):
            n += len(piece)
            total += sum(piece)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{n} {total}\n".encode()]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks():
            for i in range(3):
                yield f"part {i} at {time.monotonic():.3f}\n".encode()
                if i < 2:
                    time.sleep(0.4)
        return chunks()
    if path == "/boom":
        raise RuntimeError("boom on purpose")
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page\n"]
