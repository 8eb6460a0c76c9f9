"""Shared test app: echoes the request body back (any method), with the method, the
body length and the path in response headers. Reads wsgi.input with read(), so the
front end's body handling (Content-Length, chunked, limits) is what is exercised."""


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [
        ("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
        ("X-Echo-Method", environ["REQUEST_METHOD"]),
        ("X-Echo-Length", str(len(body))),
        ("X-Echo-Path", environ["PATH_INFO"].encode("latin-1").decode("ascii", "replace")),
    ])
    return [body]
