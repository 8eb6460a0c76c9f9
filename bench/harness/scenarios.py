"""The measured scenarios: which servers, which app and request, how much load. Ours and
each peer run alternately (A B C A B C) for `rounds` rounds, each round from a fresh
start, at the same process and thread counts."""

import os
from dataclasses import dataclass

import static_bench

HELLO = b"Hello, World!\n"
W1, W2 = (1, 1), (2, 1)

# Our gateways: every other server in a scenario is a peer.
OURS = {"wsgi-http", "wsgi-fcgi-unix", "wsgi-fcgi-tcp", "fcgid", "proxy-fcgi",
        "wsgi-fcgi-unix-nokeep", "proxy-fcgi-noreuse", "wsgi-uwsgi", "wsgi-scgi"}
OURS.add("wsgi-http-static")

LABELS = {
    "wsgi-http": "wsgi-http", "uwsgi": "uWSGI --http-socket",
    "uwsgi-http11": "uWSGI --http11-socket", "gunicorn-sync": "gunicorn sync",
    "gunicorn-gthread": "gunicorn gthread", "waitress": "waitress",
    "ceiling": "nginx return 200 (ceiling)",
    "wsgi-fcgi-unix": "nginx + wsgi-fcgi (unix)", "wsgi-fcgi-tcp": "nginx + wsgi-fcgi (tcp)",
    "uwsgi-fastcgi": "nginx + uWSGI --fastcgi-socket", "uwsgi-pass": "nginx + uWSGI uwsgi_pass",
    "fcgid": "Apache + mod_fcgid + wsgi-fcgi", "proxy-fcgi": "Apache + mod_proxy_fcgi + wsgi-fcgi",
    "mod-wsgi": "Apache + mod_wsgi daemon",
    "wsgi-fcgi-unix-nokeep": "nginx + wsgi-fcgi (unix), no keep-conn",
    "uwsgi-fastcgi-nokeep": "nginx + uWSGI --fastcgi-socket, no keep-conn",
    "proxy-fcgi-noreuse": "Apache + mod_proxy_fcgi + wsgi-fcgi, no reuse",
    "fcgid-libfcgi": "Apache + mod_fcgid + libfcgi C hello (ceiling)",
    "wsgi-uwsgi": "nginx uwsgi_pass + wsgi-uwsgi", "wsgi-scgi": "nginx scgi_pass + wsgi-scgi",
    "uwsgi-scgi": "nginx scgi_pass + uWSGI --scgi-socket",
    "uwsgi-https": "uWSGI --https router",
}
LABELS.update(static_bench.LABELS)

# How each row's connections are used, said in every table. wrk keeps its connections
# alive unless a scenario sends "Connection: close"; behind a web server what counts is
# the web server's connection to the gateway, which these configurations fix.
BACKEND_CONNECTIONS = {
    "wsgi-fcgi-unix": "nginx to gateway reused (fastcgi_keep_conn on)",
    "wsgi-fcgi-tcp": "nginx to gateway reused (fastcgi_keep_conn on)",
    "uwsgi-fastcgi": "nginx to gateway: fastcgi_keep_conn on (reuse is up to uWSGI)",
    "uwsgi-pass": "nginx to gateway: new per request (uwsgi_pass has no keep-alive)",
    "ceiling": "no backend",
    "wsgi-fcgi-unix-nokeep": "nginx to gateway: new per request (nginx default)",
    "uwsgi-fastcgi-nokeep": "nginx to gateway: new per request (nginx default)",
    "fcgid": "Apache to gateway: mod_fcgid's own, one per request",
    "fcgid-libfcgi": "Apache to gateway: mod_fcgid's own, one per request",
    "proxy-fcgi": "Apache to gateway reused (enablereuse=on)",
    "proxy-fcgi-noreuse": "Apache to gateway: new per request (mod_proxy_fcgi default)",
    "mod-wsgi": "Apache to daemon: new per request (mod_wsgi's own)",
    "wsgi-uwsgi": "nginx to gateway: new per request (uwsgi_pass has no keep-alive)",
    "wsgi-scgi": "nginx to gateway: new per request (SCGI: one request per connection)",
    "uwsgi-scgi": "nginx to gateway: new per request (SCGI: one request per connection)",
}


@dataclass
class Scenario:
    name: str
    topology: str           # http | nginx | apache
    app: str                # key of servers.apps()
    path: str
    servers: list           # [(kind, (processes, threads))]; ours first
    method: str = "GET"
    body: bytes = None      # request body (POST)
    expect_body: bytes = None
    expect_len: int = None
    connections: int = 16
    duration_scale: float = 1.0
    wrk_script: str = None  # name of a lua script written by write_scripts()
    client_close: bool = False  # every request says "Connection: close" (close.lua)
    rounds: int = None      # None: the run's rounds
    tls: bool = False       # HTTPS on one certificate (servers.tls_files); wrk over https


def _http(name, app, path, kinds, shape, **kw):
    return Scenario(name, "http", app, path, [(k, s) for k, s in _shapes(kinds, shape)], **kw)


def _shapes(kinds, shape):
    for k in kinds:
        # waitress and gthread scale with threads in one process; the rest fork.
        if shape == W2 and k in ("waitress", "gunicorn-gthread"):
            yield k, (1, 2)
        else:
            yield k, shape


def all_scenarios():
    hello = dict(expect_body=HELLO)
    peers_all = ["wsgi-http", "uwsgi", "uwsgi-http11", "gunicorn-sync", "gunicorn-gthread",
                 "waitress"]
    peers_few = ["wsgi-http", "uwsgi", "gunicorn-sync"]
    echo = b"e" * 1024
    return [
        _http("HTTP hello", "hello", "/", peers_all, W1, **hello),
        _http("HTTP 64 KiB", "bench", "/64k", peers_few, W1, expect_len=65536),
        _http("HTTP POST 1 KiB echo", "bench", "/echo", peers_few, W1, method="POST",
              body=echo, expect_body=echo, wrk_script="post1k.lua"),
        _http("HTTP Flask hello", "flask", "/", peers_few, W1, **hello),
        # TLS in the server (wsgi-http --certfile; uWSGI's --https router, a process in
        # front of its workers), one ECDSA P-256 certificate, kept-alive connections.
        _http("HTTPS hello", "hello", "/", ["wsgi-http", "uwsgi-https"], W1, tls=True,
              **hello),
        _http("HTTP 10 MiB stream", "bench", "/stream", ["wsgi-http", "uwsgi"], W1,
              expect_len=10 << 20, connections=4, duration_scale=0.5),
        _http("HTTP hello, 2 workers", "hello", "/",
              ["wsgi-http", "uwsgi", "gunicorn-sync", "gunicorn-gthread", "waitress"], W2,
              **hello),
        _http("HTTP Flask hello, 2 workers", "flask", "/", ["wsgi-http", "uwsgi"], W2,
              **hello),
        Scenario("nginx hello", "nginx", "hello", "/",
                 [(k, W1) for k in ("wsgi-fcgi-unix", "wsgi-fcgi-tcp", "uwsgi-fastcgi",
                                    "uwsgi-pass", "ceiling")], **hello),
        Scenario("nginx hello, 2 workers", "nginx", "hello", "/",
                 [(k, W2) for k in ("wsgi-fcgi-unix", "uwsgi-fastcgi", "uwsgi-pass")],
                 **hello),
        Scenario("nginx uwsgi_pass hello", "nginx", "hello", "/",
                 [(k, W1) for k in ("wsgi-uwsgi", "uwsgi-pass")], **hello),
        Scenario("nginx scgi_pass hello", "nginx", "hello", "/",
                 [(k, W1) for k in ("wsgi-scgi", "uwsgi-scgi")], **hello),
        Scenario("Apache hello", "apache", "hello", "/",
                 [(k, W1) for k in ("fcgid", "proxy-fcgi", "mod-wsgi", "fcgid-libfcgi")],
                 **hello),
        # What most deployments run: a new connection for every request.
        _http("HTTP hello, Connection: close", "hello", "/",
              ["wsgi-http", "uwsgi", "gunicorn-sync", "ceiling"], W1, wrk_script="close.lua",
              client_close=True, **hello),
        Scenario("nginx hello, no keep-conn", "nginx", "hello", "/",
                 [(k, W1) for k in ("wsgi-fcgi-unix-nokeep", "uwsgi-fastcgi-nokeep",
                                    "uwsgi-pass", "ceiling")], **hello),
        Scenario("Apache hello, no reuse", "apache", "hello", "/",
                 [(k, W1) for k in ("proxy-fcgi-noreuse", "mod-wsgi")], **hello),
    ] + _static_scenarios()


def _static_scenarios():
    """One 4 KiB file without Python (issue 13's static-file row): kept-alive connections,
    then a new connection per request. nginx serving the file itself is the ceiling."""
    static = dict(expect_body=static_bench.BODY)
    return [
        _http("HTTP static 4 KiB", "hello", static_bench.PATH,
              ["wsgi-http-static", "nginx-static", "uwsgi-static", "uwsgi-http11-static"], W1,
              **static),
        _http("HTTP static 4 KiB, Connection: close", "hello", static_bench.PATH,
              ["wsgi-http-static", "nginx-static", "uwsgi-static"], W1,
              wrk_script="close.lua", client_close=True, **static),
    ]


def write_scripts(tmp):
    """wrk lua scripts; returns name → path."""
    scripts = {"post1k.lua": 'wrk.method = "POST"\n'
                             'wrk.body = string.rep("e", 1024)\n'
                             'wrk.headers["Content-Type"] = "application/octet-stream"\n',
               "close.lua": 'wrk.headers["Connection"] = "close"\n'}
    paths = {}
    for name, text in scripts.items():
        paths[name] = os.path.join(tmp, name)
        with open(paths[name], "w") as f:
            f.write(text)
    return paths
