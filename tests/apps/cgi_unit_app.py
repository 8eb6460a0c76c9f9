# The WSGI app the wsgi-cgi program tests run directly (tests/unit/cgi/wsgi_cgi_test.cpp):
# it routes on PATH_INFO and answers in plain text.
import os
import sys


def _text(start_response, body, status="200 OK"):
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [body.encode("utf-8") if isinstance(body, str) else body]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/post":
        body = environ["wsgi.input"].read()
        return _text(start_response, b"got " + body)
    if path == "/print":
        print("stray print to stdout")
        sys.stdout.flush()
        os.write(1, b"raw write to fd 1\n")
        return _text(start_response, "printed\n")
    if path == "/atexit":
        # The process skips the interpreter's teardown but must still run atexit
        # callbacks (and flush what they print to stderr).
        import atexit
        marker = environ.get("QUERY_STRING", "")

        def at_exit():
            with open(marker, "w") as f:
                f.write("ran")
            sys.stderr.write("atexit callback ran\n")
        atexit.register(at_exit)
        return _text(start_response, "registered\n")
    if path == "/raise":
        raise ValueError("secret-value-in-traceback")
    if path == "/environ":
        keys = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SCRIPT_NAME",
                "HTTP_PROXY", "HTTP_X_TEST", "PATH", "wsgi.run_once", "wsgi.multithread",
                "wsgi.multiprocess", "wsgi.url_scheme"]
        lines = [f"{k}={environ.get(k, '<absent>')!s}" for k in keys]
        lines.append(f"os.environ.HTTP_PROXY={os.environ.get('HTTP_PROXY', '<absent>')}")
        return _text(start_response, "\n".join(lines) + "\n")
    if path == "/child":
        import subprocess
        out = subprocess.run(["/usr/bin/env"], capture_output=True, check=True).stdout
        return _text(start_response, b"child sees HTTP_PROXY" if b"HTTP_PROXY=" in out
                     else b"child is clean")
    if path == "/stream":
        import time
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks():
            yield b"one\n"
            time.sleep(1.0)
            yield b"two\n"
        return chunks()
    if path == "/created":
        start_response("201 Created", [("Location", "/items/5")])
        return [b"created\n"]
    return _text(start_response, "hello\n")
