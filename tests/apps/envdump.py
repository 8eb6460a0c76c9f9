"""Shared test app: the WSGI environ as JSON (str values as they are, other values as
repr()), plus the body length read from wsgi.input. For checking the CGI variables a
front end produces (SCRIPT_NAME/PATH_INFO, REQUEST_URI, HTTP_*, url_scheme...)."""
import json


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    out = {k: (v if isinstance(v, str) else repr(v)) for k, v in environ.items()}
    out["@body_length"] = len(body)
    data = json.dumps(out, sort_keys=True).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]
