"""Test app for the process model (master, workers, signals):
  /abort          os.abort() in the worker (SIGABRT: the process dies mid-request)
  /sleep?s=N      sleeps N seconds, then answers like /
  /spin?s=N       a Python loop for N seconds (holds the GIL between switches)
  /grow?mb=N      keeps N more MiB alive in the worker, then answers like /
  /status/NNN     answers with status NNN
  /               "<pid> <VERSION>" where VERSION is read from version.txt beside
                  the app at import time (a reload must pick up a new one)."""
import os
import time
from urllib.parse import parse_qs

_here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(_here, "version.txt")) as f:
        VERSION = f.read().strip()
except OSError:
    VERSION = "none"

_kept = []


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/abort":
        os.abort()
    q = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/sleep":
        time.sleep(float(q.get("s", ["0"])[0]))
    if path == "/spin":
        end = time.monotonic() + float(q.get("s", ["0"])[0])
        while time.monotonic() < end:
            pass
    if path == "/grow":
        _kept.append(bytearray(int(q.get("mb", ["0"])[0]) * 1024 * 1024))
    body = ("%d %s" % (os.getpid(), VERSION)).encode()
    if path.startswith("/status/"):
        start_response(path[8:] + " Test", [("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
