"""Shared test app: invalid response heads, by path (each is a 500 from the gateway,
never a malformed response on the wire).
  /status      status "20 OK"           /crlf       header value with CR LF
  /nul         header value with NUL    /euro       non-latin-1 header value
  /hop         Connection: close        anything else: 200 "ok" """

CASES = {
    "/status": ("20 OK", []),
    "/crlf": ("200 OK", [("X-Injected", "a\r\nSet-Cookie: evil=1")]),
    "/nul": ("200 OK", [("X-Nul", "a\0b")]),
    "/euro": ("200 OK", [("X-Euro", "\u20ac")]),
    "/hop": ("200 OK", [("Connection", "close")]),
}


def application(environ, start_response):
    status, headers = CASES.get(environ["PATH_INFO"], ("200 OK", []))
    start_response(status, headers + [("Content-Type", "text/plain")])
    return [b"ok"]
