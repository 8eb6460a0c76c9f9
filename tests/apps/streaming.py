"""Shared test app: a generator yielding ?n=3 chunks "chunk0\\n".. with ?delay=1
seconds between them (PEP 3333 "Buffering and Streaming"), no Content-Length."""
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    n, delay = int(q.get("n", 3)), float(q.get("delay", 1))
    start_response("200 OK", [("Content-Type", "text/plain")])

    def chunks():
        for i in range(n):
            if i:
                time.sleep(delay)
            yield b"chunk%d\n" % i
    return chunks()
