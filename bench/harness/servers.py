"""The servers that speak HTTP themselves: ours (wsgi-http) and the peers uWSGI, gunicorn
and waitress, each started on 127.0.0.1 with the same process and thread counts."""

import os
import shutil
import subprocess
from dataclasses import dataclass

import procs


@dataclass
class App:
    file: str       # absolute path of the .py file
    module: str     # its module name (for the servers that import by name)
    callable: str = "application"

    @property
    def dir(self):
        return os.path.dirname(self.file)


def apps(source_root):
    return {
        "hello": App(os.path.join(source_root, "examples/hello.py"), "hello"),
        "bench": App(os.path.join(source_root, "tests/apps/bench_app.py"), "bench_app"),
        "flask": App(os.path.join(source_root, "tests/apps/bench_flask.py"), "bench_flask"),
    }


class Unavailable(Exception):
    """The server cannot be run here (binary of ours not built yet, peer not installed):
    the scenario row is skipped with this reason, not failed."""


class Running:
    """A started server: `port` answers HTTP; the workers are found under `root_pid`."""

    def __init__(self, started, port, root_pid, pattern, shape):
        self.started, self.port, self.root_pid, self.pattern = started, port, root_pid, pattern
        self.shape = shape  # what actually runs (ours may map processes onto threads)

    def workers(self):
        return procs.worker_pids(self.root_pid, self.pattern)

    def stop(self):
        for p in reversed(self.started):
            procs.stop(p, sig=getattr(p, "stop_signal", 15))


@dataclass
class Shape:
    """How many workers: processes x threads (the same for ours and every peer)."""
    processes: int
    threads: int

    @property
    def label(self):
        return f"{self.processes}x{self.threads}"


def need(program):
    path = shutil.which(program)
    if not path:
        raise Unavailable(f"{program} is not installed")
    return path


def tls_files(ctx):
    """(certificate, key): one self-signed ECDSA P-256 certificate per run, made by openssl
    in the run's temp dir, served by every HTTPS row."""
    cert, key = os.path.join(ctx.tmp, "tls-cert.pem"), os.path.join(ctx.tmp, "tls-key.pem")
    if not os.path.exists(cert):
        done = subprocess.run(
            [need("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-keyout", key, "-out", cert], capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"openssl could not make a certificate: {done.stderr[-500:]}")
    return cert, key


def start(ctx, kind, app, shape, cpus, tls=False):
    """Starts one direct-HTTP server of `kind` (HTTPS with `tls`) and waits until it
    answers."""
    port = procs.free_port()
    addr = f"127.0.0.1:{port}"
    if kind == "wsgi-http":
        args, shape = ctx.ours_shape("wsgi-http", shape)
        argv = [ctx.ours("wsgi-http"), "--app", app.file, "--bind", addr] + args
        if tls:
            cert, key = tls_files(ctx)
            argv += ["--certfile", cert, "--keyfile", key]
        pattern = "wsgi-http"
    elif kind == "uwsgi-https":
        cert, key = tls_files(ctx)
        # uWSGI's HTTPS router (its --https-socket closes every connection): one router
        # process in front of the workers, keep-alive on.
        argv = uwsgi_argv(app, shape, ["--https", f"{addr},{cert},{key}", "--http-keepalive"])
        argv[2] = "http,python3"  # --plugin: the router lives in the http plugin
        pattern = "uwsgi"
    elif kind in ("uwsgi", "uwsgi-http11"):
        flag = "--http11-socket" if kind == "uwsgi-http11" else "--http-socket"
        argv = uwsgi_argv(app, shape, [flag, addr])
        pattern = "uwsgi"
    elif kind in ("gunicorn-sync", "gunicorn-gthread"):
        worker = kind.split("-")[1]
        argv = [need("gunicorn"), "--bind", addr, "--workers", str(shape.processes),
                "--worker-class", worker, "--chdir", app.dir, "--log-level", "warning"]
        if worker == "gthread":
            argv += ["--threads", str(shape.threads)]
        argv.append(f"{app.module}:{app.callable}")
        pattern = "gunicorn"
    elif kind == "waitress":
        if shape.processes != 1:
            raise Unavailable("waitress runs one process")
        argv = [need("waitress-serve"), f"--listen={addr}", f"--threads={shape.threads}",
                f"{app.module}:{app.callable}"]
        pattern = "waitress"
    else:
        raise ValueError(kind)
    return launch(ctx, kind, port, argv, app, pattern, shape, cpus)


def launch(ctx, kind, port, argv, app, pattern, shape, cpus):
    """Spawns `argv`, a server of `kind` listening on 127.0.0.1:`port` (its log in the
    run's temp dir, the app's directory as cwd and PYTHONPATH), and waits until it
    answers; a server that never does is stopped before StartError goes up. Returns its
    Running, the workers being `pattern` processes under it."""
    log = os.path.join(ctx.tmp, f"{kind}-{port}.log")
    env = {"PYTHONPATH": app.dir, "PYTHONDONTWRITEBYTECODE": "1"}
    p = procs.spawn(argv, log, cpus=cpus, env=env, cwd=app.dir)
    try:
        procs.wait_ready(f"127.0.0.1:{port}", [p])
    except procs.StartError:
        procs.stop(p)
        raise
    return Running([p], port, p.pid, pattern, shape)


def uwsgi_argv(app, shape, sockets):
    """uWSGI as usually deployed: a master and `processes` workers, logging off."""
    need("uwsgi")
    if not os.path.exists("/usr/lib/uwsgi/plugins/python3_plugin.so"):
        raise Unavailable("uwsgi-plugin-python3 is not installed")
    argv = ["uwsgi", "--plugin", "python3", "--master", "--processes", str(shape.processes),
            "--threads", str(shape.threads), "--wsgi-file", app.file, "--callable",
            app.callable, "--pythonpath", app.dir, "--disable-logging", "--die-on-term",
            "--need-app", "--chmod-socket=666"]
    return argv + sockets
