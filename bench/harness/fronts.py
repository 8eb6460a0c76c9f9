"""Web servers in front of a gateway: nginx (fastcgi_pass, uwsgi_pass, or its own
`return 200` as the ceiling) and Apache 2.4 mpm_event (mod_fcgid, mod_proxy_fcgi, mod_wsgi
daemon mode, mod_cgid). Each gets its own config, written from bench/conf/*.in into a
fresh directory, and listens on a free loopback port."""

import os
import shutil
import subprocess
import tempfile

import procs
from servers import Running, Shape, Unavailable, need, uwsgi_argv

CONF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")

NGINX_PASS = {
    "fastcgi": "            include /etc/nginx/fastcgi_params;\n"
               "            fastcgi_keep_conn on;\n"
               "            fastcgi_pass backend;",
    "uwsgi": "            include /etc/nginx/uwsgi_params;\n"
             "            uwsgi_pass backend;",
    # nginx's default: a new FastCGI connection for every request.
    "fastcgi-nokeep": "            include /etc/nginx/fastcgi_params;\n"
                      "            fastcgi_pass backend;",
    "scgi": "            include /etc/nginx/scgi_params;\n"
            "            scgi_pass backend;",
}

# Which nginx *_pass each backend kind is reached through.
PASS_OF = {"uwsgi-pass": "uwsgi", "wsgi-uwsgi": "uwsgi", "wsgi-scgi": "scgi", "uwsgi-scgi": "scgi"}


def _pass_for(backend):
    if backend in PASS_OF:
        return NGINX_PASS[PASS_OF[backend]]
    return NGINX_PASS["fastcgi-nokeep" if backend.endswith("-nokeep") else "fastcgi"]


def render(template, out_path, variables):
    with open(os.path.join(CONF_DIR, template)) as f:
        text = f.read()
    for name, value in variables.items():
        text = text.replace(f"@{name}@", str(value))
    if "@" in text.replace("@{", ""):
        leftover = [w for w in text.split() if w.startswith("@") and w.endswith("@")]
        if leftover:
            raise ValueError(f"{template}: unfilled {leftover}")
    with open(out_path, "w") as f:
        f.write(text)
    return out_path


def _fresh_dir(ctx, name):
    d = tempfile.mkdtemp(prefix=name + "-", dir=ctx.tmp)
    os.chmod(d, 0o755)  # Apache children run as nobody
    return d


def _backend(ctx, kind, app, shape, cpus, d):
    """Starts the gateway nginx talks to; returns (proc, upstream address, pattern)."""
    log = os.path.join(d, "backend.log")
    env = {"PYTHONPATH": app.dir}
    kind = kind.removesuffix("-nokeep")  # the same backend; only nginx's side differs
    if kind in ("wsgi-fcgi-unix", "wsgi-fcgi-tcp"):
        exe = ctx.ours("wsgi-fcgi")
        if kind == "wsgi-fcgi-unix":
            target = os.path.join(d, "fcgi.sock")
            bind = "unix:" + target
        else:
            target = f"127.0.0.1:{procs.free_port()}"
            bind = target
        args, shape = ctx.ours_shape("wsgi-fcgi", shape)
        argv = [exe, "--app", app.file, "--bind", bind] + args
        pattern = "wsgi-fcgi"
    elif kind in ("wsgi-uwsgi", "wsgi-scgi"):
        # One request per connection, each on one of --threads threads (SCGI, uwsgi).
        target = os.path.join(d, kind + ".sock")
        args, shape = ctx.ours_shape(kind, shape)
        argv = [ctx.ours(kind), "--app", app.file, "--bind", "unix:" + target] + args
        pattern = kind
    elif kind == "uwsgi-scgi":
        target = os.path.join(d, "uwsgi-scgi.sock")
        argv, pattern = uwsgi_argv(app, shape, ["--scgi-socket", target]), "uwsgi"
    elif kind == "uwsgi-fastcgi":
        target = os.path.join(d, "uwsgi-fcgi.sock")
        argv, pattern = uwsgi_argv(app, shape, ["--fastcgi-socket", target]), "uwsgi"
    elif kind == "uwsgi-pass":
        target = os.path.join(d, "uwsgi.sock")
        argv, pattern = uwsgi_argv(app, shape, ["--socket", target]), "uwsgi"
    else:
        raise ValueError(kind)
    p = procs.spawn(argv, log, cpus=cpus, env=env, cwd=app.dir)
    try:
        procs.wait_ready(target, [p])
    except procs.StartError:
        procs.stop(p)
        raise
    upstream = "unix:" + target if target.startswith("/") else target
    return p, upstream, pattern, shape


def start_nginx(ctx, backend, app, shape, cpus):
    """nginx on a free port; `backend` is 'ceiling' (no gateway) or a _backend kind.
    Returns (Running, path to request)."""
    need("nginx")
    d = _fresh_dir(ctx, "nginx-" + backend)
    started, root, pattern = [], None, "nginx: worker"
    if backend == "ceiling":
        upstream, passing, path = "127.0.0.1:9", NGINX_PASS["fastcgi"], "/ceiling"
    else:
        bp, upstream, pattern, shape = _backend(ctx, backend, app, shape, cpus, d)
        started.append(bp)
        root = bp.pid
        passing = _pass_for(backend)
        path = "/"
    port = procs.free_port()
    conf = render("nginx.conf.in", os.path.join(d, "nginx.conf"), {
        "DIR": d, "PORT": port, "UPSTREAM": upstream, "PASS": passing,
        "NGINX_WORKERS": 1})
    p = procs.spawn(["nginx", "-c", conf, "-p", d], os.path.join(d, "nginx.log"), cpus=cpus)
    p.stop_signal = 3  # SIGQUIT: graceful
    started.append(p)
    running = Running(started, port, root if root else p.pid, pattern, shape)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", started)
    except procs.StartError:
        running.stop()
        raise
    return running, path


APACHE_VARIANTS = {
    "fcgid": ("apache-fcgid.conf.in", "/app.fcgi"),
    "proxy-fcgi": ("apache-proxy-fcgi.conf.in", "/app"),
    "proxy-fcgi-noreuse": ("apache-proxy-fcgi-noreuse.conf.in", "/app"),
    "fcgid-libfcgi": ("apache-fcgid.conf.in", "/app.fcgi"),
    "mod-wsgi": ("apache-mod-wsgi.conf.in", "/app"),
    "cgi": ("apache-cgi.conf.in", None),
}


def start_apache(ctx, variant, app, shape, cpus, cgi_scripts=None):
    """Apache on a free port with one of APACHE_VARIANTS. `cgi_scripts` (name → text) are
    written executable into its docroot. Returns (Running, path to request)."""
    need("apache2")
    template, path = APACHE_VARIANTS[variant]
    d = _fresh_dir(ctx, "apache-" + variant)
    docroot = os.path.join(d, "docroot")
    os.makedirs(docroot)
    started, root, pattern = [], None, "apache2"
    variables = {"DIR": d, "PROCS": shape.processes, "THREADS": shape.threads,
                 "APP_DIR": app.dir, "APP_FILE": app.file, "BACKEND_PORT": 0}
    scripts = dict(cgi_scripts or {})
    if variant == "fcgid":
        exe = ctx.ours("wsgi-fcgi")
        if not os.path.exists("/usr/lib/apache2/modules/mod_fcgid.so"):
            raise Unavailable("libapache2-mod-fcgid is not installed")
        fcgid = os.path.join(d, "fcgid")
        os.makedirs(fcgid)
        shutil.chown(fcgid, "nobody", "nogroup")
        # mod_fcgid owns the process count: each process gets the threads.
        args, _ = ctx.ours_shape("wsgi-fcgi", Shape(1, shape.threads))
        scripts["app.fcgi"] = (f"#!/bin/sh\nexport PYTHONPATH={app.dir}\n"
                               f"exec {exe} --app {app.file} {' '.join(args)}\n")
        pattern = "wsgi-fcgi"
    elif variant == "fcgid-libfcgi":
        if not os.path.exists("/usr/lib/apache2/modules/mod_fcgid.so"):
            raise Unavailable("libapache2-mod-fcgid is not installed")
        fcgid = os.path.join(d, "fcgid")
        os.makedirs(fcgid)
        shutil.chown(fcgid, "nobody", "nogroup")
        _build_libfcgi_hello(os.path.join(docroot, "app.fcgi"), d)
        pattern = "app.fcgi"
    elif variant in ("proxy-fcgi", "proxy-fcgi-noreuse"):
        bp, upstream, pattern, shape = _backend(ctx, "wsgi-fcgi-tcp", app, shape, cpus, d)
        started.append(bp)
        root = bp.pid
        variables["BACKEND_PORT"] = upstream.rsplit(":", 1)[1]
    elif variant == "mod-wsgi":
        if not os.path.exists("/usr/lib/apache2/modules/mod_wsgi.so"):
            raise Unavailable("libapache2-mod-wsgi-py3 is not installed")
        pattern = "(wsgi)"
    for name, text in scripts.items():
        with open(os.path.join(docroot, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(docroot, name), 0o755)
    body = render(template, os.path.join(d, "variant.conf"), variables)
    with open(body) as f:
        variables["BODY"] = f.read()
    port = procs.free_port()
    variables["PORT"] = port
    conf = render("apache.conf.in", os.path.join(d, "apache.conf"), variables)
    p = procs.spawn(["apache2", "-f", conf, "-DFOREGROUND"], os.path.join(d, "apache.log"),
                    cpus=cpus, env={"APACHE_RUN_DIR": d, "APACHE_LOCK_DIR": d})
    p.stop_signal = 15
    started.append(p)
    running = Running(started, port, root if root else p.pid, pattern, shape)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", started)
    except procs.StartError as exc:
        running.stop()
        raise procs.StartError(f"{exc}\n{_tail(os.path.join(d, 'apache-error.log'))}")
    return running, path


LIBFCGI_HELLO = r"""
/* The smallest FastCGI responder libfcgi allows: the ceiling of the mod_fcgid path. */
#include <fcgiapp.h>
int main(void)
{
    FCGX_Request req;
    FCGX_Init();
    FCGX_InitRequest(&req, 0, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
                  "Hello, World!\n", req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}
"""


def _build_libfcgi_hello(exe, d):
    if not os.path.exists("/usr/include/fcgiapp.h"):
        raise Unavailable("libfcgi-dev is not installed")
    src = os.path.join(d, "hello_fcgi.c")
    with open(src, "w") as f:
        f.write(LIBFCGI_HELLO)
    done = subprocess.run(["cc", "-O2", "-o", exe, src, "-lfcgi"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise procs.StartError(f"cannot build the libfcgi hello: {done.stderr}")
    os.chmod(exe, 0o755)


def _tail(path, n=10):
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-n:])
    except OSError:
        return ""
