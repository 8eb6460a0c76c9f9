"""The reference: the standard library's wsgiref server with each application mounted at
a prefix, as a front end would mount it (SCRIPT_NAME = the prefix, PATH_INFO = the rest).

usage: reference_server.py PORT PREFIX=APP_FILE...

Each app file is imported under its own module name with its directory first on
sys.path, like wsgi-bridge's loader does.
"""
import importlib.util
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def load(path, index):
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = f"reference_app_{index}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, "application", None) or getattr(module, "app")


def main():
    port = int(sys.argv[1])
    loaded, mounts = {}, []
    for i, arg in enumerate(sys.argv[2:]):
        prefix, _, path = arg.partition("=")
        if path not in loaded:
            loaded[path] = load(path, len(loaded))
        mounts.append((prefix, loaded[path]))
    mounts.sort(key=lambda m: -len(m[0]))

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        for prefix, app in mounts:
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix):]
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no mount\n"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    make_server("127.0.0.1", port, dispatch, server_class=Server,
                handler_class=Quiet).serve_forever()


if __name__ == "__main__":
    main()
