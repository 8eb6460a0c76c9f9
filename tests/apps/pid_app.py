"""Test app for wsgi-http --workers: answers "<pid> <wsgi.multiprocess>", after sleeping
?sleep=SECONDS (so a busy worker leaves the next connection to another)."""
import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    time.sleep(float(q.get("sleep", ["0"])[0]))
    body = ("%d %s" % (os.getpid(), environ["wsgi.multiprocess"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
