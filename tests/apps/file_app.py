"""Shared test app: serves a file through wsgi.file_wrapper (sendfile when possible).
  ?path=FILE (default: this file)  ?skip=N: read N bytes first (the file must then be
  sent from tell(), PEP 3333 'Optional Platform-Specific File Handling')  ?cl=M: Content-Length M (sending stops there)."""
import os
from urllib.parse import parse_qs


def application(environ, start_response):
    q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    f = open(q.get("path", __file__), "rb")
    if "skip" in q:
        f.read(int(q["skip"]))
    headers = [("Content-Type", "application/octet-stream")]
    if "cl" in q:
        headers.append(("Content-Length", q["cl"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](f)
