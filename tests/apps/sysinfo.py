"""Test app: facts about the embedded interpreter as JSON (sys.path, whether `site`
was imported, bytecode writing, stdout redirection, flags), and ?import=a,b to try
importing modules. Used by the interpreter configuration tests."""
import json
import os
import sys
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    imports = {}
    for name in ",".join(q.get("import", [])).split(","):
        if not name:
            continue
        try:
            module = __import__(name)
            imports[name] = getattr(module, "__file__", None) or "builtin"
        except Exception as e:  # reported, not raised: the test reads it
            imports[name] = "error: %s: %s" % (type(e).__name__, e)
    info = {
        "path": sys.path,
        "site_imported": "site" in sys.modules,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "stdout_is_stderr": sys.stdout is sys.stderr,
        "isolated": sys.flags.isolated,
        "ignore_environment": sys.flags.ignore_environment,
        "cwd": os.getcwd(),
        "imports": imports,
        "version": "%d.%d" % sys.version_info[:2],
        "executable": sys.executable,
        "utf8_mode": sys.flags.utf8_mode,
        "fs_encoding": sys.getfilesystemencoding(),
        "open_encoding": __import__("locale").getpreferredencoding(False),
    }
    print("printed by sysinfo")  # must not reach fd 1 when stdout is redirected
    body = json.dumps(info).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
