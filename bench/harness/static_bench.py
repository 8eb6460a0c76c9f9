"""The static-file rows: one 4 KiB file served without Python by wsgi-http --static-map
(ours), by nginx itself (the ceiling of static serving) and by uWSGI's core --static-map
(its workers answer it with sendfile before the app is called). Every server gets the same
file in the same directory, at the same URL."""

import os

import procs
from fronts import _fresh_dir, render
from servers import Running, launch, need, uwsgi_argv

PREFIX = "/static"
NAME = "file4k.txt"
PATH = f"{PREFIX}/{NAME}"
BODY = (b"0123456789abcdef" * 256)[:4095] + b"\n"  # 4096 bytes, text/plain everywhere

# kind -> the label in the tables (scenarios.LABELS takes them)
LABELS = {
    "wsgi-http-static": "wsgi-http --static-map",
    "nginx-static": "nginx static file (ceiling)",
    "uwsgi-static": "uWSGI --http-socket --static-map",
    "uwsgi-http11-static": "uWSGI --http11-socket --static-map --tcp-nodelay",
}
KINDS = set(LABELS)


def static_dir(ctx):
    """The directory every server maps at PREFIX, with the one file (written once a run)."""
    d = os.path.join(ctx.tmp, "static")
    path = os.path.join(d, NAME)
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        with open(path, "wb") as f:
            f.write(BODY)
        os.chmod(path, 0o644)
    return d


def start(ctx, kind, app, shape, cpus):
    """Starts one static-file server of `kind` on a free port; returns Running."""
    files = static_dir(ctx)
    if kind == "nginx-static":
        return _start_nginx(ctx, files, cpus, shape)
    port = procs.free_port()
    addr = f"127.0.0.1:{port}"
    mapping = f"{PREFIX}={files}"
    if kind == "wsgi-http-static":
        # The app is loaded (hello) as it would be in a deployment, but never called.
        args, shape = ctx.ours_shape("wsgi-http", shape)
        argv = [ctx.ours("wsgi-http"), "--app", app.file, "--bind", addr,
                "--static-map", mapping] + args
        pattern = "wsgi-http"
    elif kind in ("uwsgi-static", "uwsgi-http11-static"):
        sockets = ["--http-socket", addr]
        if kind == "uwsgi-http11-static":
            # Kept alive, uWSGI writes the head and then sendfile()s the body: without
            # TCP_NODELAY every response waits out the client's delayed ACK (about 40 ms,
            # 23 req/s). --tcp-nodelay is uWSGI's own cure, so the peer gets it.
            sockets = ["--http11-socket", addr, "--tcp-nodelay"]
        argv = uwsgi_argv(app, shape, sockets + ["--static-map", mapping])
        pattern = "uwsgi"
    else:
        raise ValueError(kind)
    return launch(ctx, kind, port, argv, app, pattern, shape, cpus)


def _start_nginx(ctx, files, cpus, shape):
    need("nginx")
    d = _fresh_dir(ctx, "nginx-static")
    port = procs.free_port()
    conf = render("nginx-static.conf.in", os.path.join(d, "nginx.conf"),
                  {"DIR": d, "PORT": port, "PREFIX": PREFIX, "STATIC_DIR": files})
    p = procs.spawn(["nginx", "-c", conf, "-p", d], os.path.join(d, "nginx.log"), cpus=cpus)
    p.stop_signal = 3  # SIGQUIT: graceful
    running = Running([p], port, p.pid, "nginx: worker", shape)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", [p])
    except procs.StartError:
        running.stop()
        raise
    return running
