#!/usr/bin/env bash
# CGI cold start: wsgi-cgi versus the standard library's wsgiref.handlers.CGIHandler
# under Debian's /usr/bin/python3, both serving the same WSGI app (examples/hello.py by
# default) with the same CGI environment. Each run is timed from exec to the end of the
# response (EOF on stdout) and to process exit; prints mean/median ms and the ratios.
#
#   bench/cgi_coldstart.sh [-n RUNS] [-b BUILD_DIR] [-a APP.py]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=50
build="$root/build"
app="$root/examples/hello.py"
while getopts "n:b:a:" opt; do
    case $opt in
        n) runs=$OPTARG ;;
        b) build=$OPTARG ;;
        a) app=$OPTARG ;;
        *) echo "usage: $0 [-n RUNS] [-b BUILD_DIR] [-a APP.py]" >&2; exit 2 ;;
    esac
done
wsgi_cgi="$build/cli/wsgi-cgi"
[ -x "$wsgi_cgi" ] || { echo "no $wsgi_cgi: build first (meson setup build && ninja -C build)" >&2; exit 1; }

exec /usr/bin/python3 - "$runs" "$wsgi_cgi" "$app" <<'PY'
import os, statistics, sys, tempfile, time

runs, wsgi_cgi, app = int(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
app_dir, app_module = os.path.split(app)
app_module = os.path.splitext(app_module)[0]

work = tempfile.mkdtemp(prefix="cgi-coldstart-")
wsgiref_script = os.path.join(work, "wsgiref_cgi.py")
with open(wsgiref_script, "w") as f:
    f.write(f"import sys\nsys.path.insert(0, {app_dir!r})\n"
            "from wsgiref.handlers import CGIHandler\n"
            f"from {app_module} import application\n"
            "CGIHandler().run(application)\n")

env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
       "SCRIPT_NAME": "/app.cgi", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "localhost",
       "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
       "HTTP_HOST": "localhost", "HTTP_USER_AGENT": "coldstart"}
devnull = os.open(os.devnull, os.O_RDWR)

def once(argv):
    """Seconds from spawn to EOF on stdout, and to exit; the response bytes."""
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, w, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2), (os.POSIX_SPAWN_CLOSE, r)])
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    eof = time.perf_counter()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    end = time.perf_counter()
    if os.waitstatus_to_exitcode(status) != 0 or not out:
        sys.exit(f"{argv[0]} failed (status {status}): {out[:200]!r}")
    return eof - start, end - start, out

contenders = {
    "wsgi-cgi": [wsgi_cgi, app],
    "wsgiref CGIHandler": ["/usr/bin/python3", wsgiref_script],
}
results = {name: [] for name in contenders}
for name, argv in contenders.items():
    for _ in range(3):  # warm the page cache and write __pycache__ byte code
        once(argv)
# Interleaved, so a busy machine slows both contenders alike.
for _ in range(runs):
    for name, argv in contenders.items():
        results[name].append(once(argv)[:2])

print(f"cold start, {runs} runs each, app {app}")
print(f"{'':22}{'response mean':>14}{'median':>9}{'exit mean':>11}{'median':>9}  (ms)")
summary = {}
for name, samples in results.items():
    resp = [s[0] * 1000 for s in samples]
    done = [s[1] * 1000 for s in samples]
    summary[name] = (statistics.mean(resp), statistics.median(resp), statistics.mean(done), statistics.median(done))
    print(f"{name:22}" + "".join(f"{v:>{w}.2f}" for v, w in zip(summary[name], (14, 9, 11, 9))))
ours, ref = summary["wsgi-cgi"], summary["wsgiref CGIHandler"]
print(f"ratio wsgi-cgi / wsgiref: response median {ours[1] / ref[1]:.2f}x, "
      f"exit median {ours[3] / ref[3]:.2f}x (target <= 0.6x)")
PY
