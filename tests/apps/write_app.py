"""Shared test app: the legacy write() callable. Sends "hello " with write(), a b""
that must not send anything by itself, then returns [b"world\\n"]."""


def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"hello ")
    write(b"")
    return [b"world\n"]
