"""Shared test app: a generator that calls start_response inside the generator, only
when the first item is pulled (PEP 3333: start_response may be called from the first iteration), with a custom status and header."""


def application(environ, start_response):
    def body():
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Late", "yes")])
        yield b"created "
        yield b"late\n"
    return body()
