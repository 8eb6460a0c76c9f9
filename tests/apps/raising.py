"""Shared test app: fails on purpose, by path.
  /before          raise before start_response           -> 500 from the gateway
  /after-start     raise after start_response, no data   -> 500 (nothing was sent)
  /mid-stream      yield b"partial" then raise           -> response aborted
  anything else    200 "ok" (the server keeps serving)"""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/before":
        raise RuntimeError("raising.py: before start_response")
    if path == "/after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("raising.py: after start_response")
    if path == "/mid-stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"partial"
            raise RuntimeError("raising.py: in the middle of the body")
        return gen()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
