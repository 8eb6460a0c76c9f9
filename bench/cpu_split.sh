#!/usr/bin/env bash
# Where the CPU of one request goes behind nginx without fastcgi_keep_conn (a new
# FastCGI connection per request, unix socket): nginx (one worker) and the gateway both
# pinned to CPU 0, wrk -t1 -c16 on CPU 1, and perf stat (task-clock, system calls) on
# the nginx worker and on the gateway's serving process. CPU time per request is what
# the two share on CPU 0, so it predicts their req/s ratio on a loaded machine better
# than req/s does; nginx's part bounds the ratio any gateway can reach.
#   bench/cpu_split.sh ours|uwsgi|ceiling [SECONDS] [WSGI_FCGI]
# Needs nginx, wrk, perf (tracepoint raw_syscalls:sys_enter), uwsgi-plugin-python3.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
root=$(cd "$(dirname "$0")/.." && pwd)
kind=$1
secs=${2:-10}
exe=${3:-$root/build-bench/cli/wsgi-fcgi}
app=$root/examples/hello.py
d=$(mktemp -d /tmp/cpu-split.XXXXXX)
chmod 755 "$d"
sock=$d/backend.sock
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

backend=""
case $kind in
ours)
    as_root=()
    [ "$(id -u)" = 0 ] && as_root=(--allow-root) # the programs refuse root unless told
    taskset -c 0 "$exe" --app "$app" --bind "unix:$sock" --threads 1 --no-master \
        --log-level warning "${as_root[@]}" >"$d/backend.log" 2>&1 &
    backend=$! ;;
uwsgi)
    taskset -c 0 uwsgi --plugin python3 --master --processes 1 --threads 1 --wsgi-file "$app" \
        --disable-logging --die-on-term --need-app --chmod-socket=666 \
        --fastcgi-socket "$sock" >"$d/backend.log" 2>&1 &
    backend=$! ;;
ceiling) ;;
*) echo "usage: $0 ours|uwsgi|ceiling [SECONDS] [WSGI_FCGI]" >&2; exit 2 ;;
esac
if [ -n "$backend" ]; then
    pids+=("$backend")
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
fi
pass='            include /etc/nginx/fastcgi_params;\n            fastcgi_pass backend;'
sed -e "s|@NGINX_WORKERS@|1|; s|@DIR@|$d|g; s|@PORT@|$port|; s|@UPSTREAM@|unix:$sock|" \
    -e "s|@PASS@|$pass|" "$root/bench/conf/nginx.conf.in" >"$d/nginx.conf"
taskset -c 0 nginx -c "$d/nginx.conf" -p "$d" >"$d/nginx.out" 2>&1 &
nginx=$!
pids+=("$nginx")
sleep 1
worker=$(pgrep -P "$nginx" | head -1)
serving=$backend
[ "$kind" = uwsgi ] && serving=$(pgrep -P "$backend" | head -1) # the worker, not the master
path=/
[ "$kind" = ceiling ] && path=/ceiling
url=http://127.0.0.1:$port$path
taskset -c 1 wrk -t1 -c16 -d2s "$url" >/dev/null # warm-up
perf stat -e raw_syscalls:sys_enter,task-clock -p "$worker" -o "$d/perf-nginx" &
p1=$!
p2=""
if [ -n "$serving" ]; then
    perf stat -e raw_syscalls:sys_enter,task-clock -p "$serving" -o "$d/perf-backend" &
    p2=$!
fi
sleep 0.3
taskset -c 1 wrk -t1 -c16 -d"${secs}s" "$url" >"$d/wrk.out"
kill -INT $p1 $p2
wait $p1 $p2 2>/dev/null || true
reqs=$(awk '/requests in/ {print $1}' "$d/wrk.out")
per() { # file event scale
    [ -f "$1" ] || { echo 0; return; }
    awk -v e="$2" -v s="$3" -v n="$reqs" '$0 ~ e {gsub(",", "", $1); printf "%.2f", $1 * s / n}' "$1"
}
echo "$kind: $(awk '/Requests\/sec/ {print $2}' "$d/wrk.out") req/s;" \
    "nginx $(per "$d/perf-nginx" task-clock 1000) us/req, $(per "$d/perf-nginx" sys_enter 1) syscalls/req;" \
    "gateway $(per "$d/perf-backend" task-clock 1000) us/req, $(per "$d/perf-backend" sys_enter 1) syscalls/req"
grep -E "Non-2xx|Socket errors" "$d/wrk.out" || true
kill -QUIT "$nginx" 2>/dev/null || true
[ -n "$backend" ] && kill -TERM "$backend" 2>/dev/null || true
wait 2>/dev/null || true
rm -rf "$d"
