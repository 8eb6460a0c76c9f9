#!/usr/bin/python3
"""What one request costs the backend behind Apache + mod_fcgid (the bench's "Apache
hello" 1x1 set-up: Apache and the backend pinned to CPU 0, wrk -t1 -c16 on CPU 1).
mod_fcgid hands a process one request at a time, so the row is a serial chain on CPU 0
and every microsecond of the backend's counts: this prints the backend's user and
system CPU per request (/proc/PID/stat over the load), its system calls per request by
name and its context switches per request (perf stat tracepoints on the backend only).
The CPU figures move with whatever else runs on the machine; the counts do not.

    bench/fcgid_split.py ours|ceiling [--seconds N] [--build DIR]

ours: wsgi-fcgi from DIR/cli (default build-bench/); ceiling: the libfcgi C hello.
Needs apache2, libapache2-mod-fcgid, libfcgi-dev, wrk and perf (bench/run installs the
first four)."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "harness"))

import fronts  # noqa: E402
import procs  # noqa: E402
from context import Context  # noqa: E402
from servers import Shape, apps  # noqa: E402

SYSCALLS = ["accept", "accept4", "recvfrom", "read", "poll", "epoll_wait", "epoll_ctl", "ioctl",
            "sendmsg", "writev", "write", "shutdown", "close", "fcntl", "futex"]


def backend_pid(running):
    for _ in range(50):
        workers = running.workers()
        if workers:
            return workers[0]
        time.sleep(0.2)
    raise RuntimeError("mod_fcgid started no backend process")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["ours", "ceiling"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    args = parser.parse_args()
    variant = "fcgid" if args.kind == "ours" else "fcgid-libfcgi"
    tmp = tempfile.mkdtemp(prefix="fcgid-split-")
    os.chmod(tmp, 0o755)  # Apache's children (nobody) walk into it
    procs.set_pid_file(os.path.join(tmp, "pids"))
    ctx = Context(ROOT, os.path.abspath(args.build), tmp, False, args.seconds, 1)
    running, path = fronts.start_apache(ctx, variant, apps(ROOT)["hello"], Shape(1, 1), "0")
    try:
        url = f"http://127.0.0.1:{running.port}{path}"
        subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=True)
        pid = backend_pid(running)
        events = ",".join(f"syscalls:sys_enter_{s}" for s in SYSCALLS)
        counts = os.path.join(tmp, "perf.txt")
        perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", events, "-e", "context-switches",
                                 "-e", "raw_syscalls:sys_enter", "-p", str(pid), "-o", counts])
        time.sleep(0.5)
        u0, s0 = cpu_ticks(pid)
        out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{args.seconds}s",
                              url], capture_output=True, text=True, check=True).stdout
        u1, s1 = cpu_ticks(pid)
        perf.send_signal(2)
        perf.wait()
        n = int(re.search(r"(\d+) requests in", out).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
        user, system = (u1 - u0) * tick_us / n, (s1 - s0) * tick_us / n
        print(f"{args.kind}: {n} requests, {rps:,.0f} req/s; backend CPU per request: "
              f"user {user:.1f} us + system {system:.1f} us = {user + system:.1f} us")
        for line in open(counts):
            parts = line.strip().split(",")
            if len(parts) < 3 or not parts[0].replace(".", "").isdigit():
                continue
            value, event = float(parts[0]), parts[2]
            if value:
                name = event.replace("syscalls:sys_enter_", "")
                name = "all system calls" if name == "raw_syscalls:sys_enter" else name
                print(f"  {name:>18}: {value / n:5.2f} per request")
    finally:
        running.stop()


if __name__ == "__main__":
    main()
