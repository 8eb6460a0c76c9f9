"""Benchmark workloads other than hello (which is examples/hello.py itself).

Every server under test imports this same file. Bodies are built once at import so the
figures measure the gateway, not the app allocating bytes.
  /64k     a 64 KiB response, one bytes object
  /echo    echoes the request body (POST), read through wsgi.input with CONTENT_LENGTH
  /stream  10 MiB streamed as 160 chunks of 64 KiB from a generator (Content-Length set)
"""

CHUNK = b"x" * 65536
STREAM_CHUNKS = 160  # 10 MiB


def _stream():
    for _ in range(STREAM_CHUNKS):
        yield CHUNK


def application(environ, start_response):
    # The whole path: behind nginx's stock fastcgi_params (SCRIPT_NAME is the whole path,
    # no PATH_INFO) every gateway routes the same request the same way.
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if path == "/64k":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(CHUNK)))])
        return [CHUNK]
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(CHUNK) * STREAM_CHUNKS))])
        return _stream()
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
