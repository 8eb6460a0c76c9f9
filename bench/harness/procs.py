"""Processes the harness starts: every one in its own process group, recorded in a pid
file (bench/run's EXIT trap kills what is left by those ids), stopped by pid when done.
Also: free ports, waiting until a server answers, and peak RSS of worker processes."""

import os
import signal
import socket
import subprocess
import time

_live = []          # Popen objects still to stop
_pid_file = None    # one process-group id per line, read by bench/run's EXIT trap


class StartError(RuntimeError):
    """A server did not come up: the message carries the tail of its log."""


def set_pid_file(path):
    global _pid_file
    _pid_file = path


def spawn(argv, log_path, cpus=None, env=None, cwd=None, stdin=None):
    """Starts argv (pinned to `cpus` with taskset when given) in a new session."""
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + list(argv)  # taskset execs: same pid
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                env=full_env, cwd=cwd, start_new_session=True)
    proc.log_path = log_path
    _live.append(proc)
    if _pid_file:
        with open(_pid_file, "a") as f:
            f.write(f"{proc.pid}\n")
    return proc


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop(proc, sig=signal.SIGTERM, grace=5.0):
    """Asks the process to stop, waits `grace` seconds, then kills its whole group (the
    group id is the pid we started: workers it forked are in it)."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + 2.0
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        if proc.poll() is not None:
            # Leader gone: stragglers of its group (uWSGI workers, fcgid children).
            os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.05)
    if _group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=5)
    if proc in _live:
        _live.remove(proc)
    return proc.returncode


def stop_all():
    for proc in list(reversed(_live)):
        try:
            stop(proc, grace=3.0)
        except Exception as exc:  # keep stopping the others
            print(f"warning: could not stop pid {proc.pid}: {exc}")


def log_tail(proc, lines=15):
    try:
        with open(proc.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(target, procs, timeout=15.0):
    """Polls until `target` ("host:port" or a unix socket path) accepts a connection.
    Fails early, with the log, when one of `procs` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                name = p.args[3] if p.args[0] == "taskset" else p.args[0]
                raise StartError(f"{name} exited with {p.returncode}:\n{log_tail(p)}")
        try:
            if target.startswith("/"):
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(1)
                    s.connect(target)
            else:
                host, port = target.rsplit(":", 1)
                socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise StartError(f"{target} not answering after {timeout:.0f} s:\n"
                     + "\n".join(log_tail(p) for p in procs))


def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def worker_pids(root, pattern):
    """The workers under `root`: processes of its tree whose command line contains
    `pattern` and that have no matching child (a uWSGI master or gunicorn arbiter is not
    a worker; a single-process server is its own worker)."""
    children = _children_map()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    matching = {p for p in tree if pattern in _cmdline(p)}

    def has_matching_descendant(pid):
        stack = list(children.get(pid, []))
        while stack:
            c = stack.pop()
            if c in matching:
                return True
            stack.extend(children.get(c, []))
        return False
    return sorted(p for p in matching if not has_matching_descendant(p))


def peak_rss_kib(pids):
    """VmHWM (peak resident set) of each pid, in KiB."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        out.append(int(line.split()[1]))
        except OSError:
            pass
    return out
