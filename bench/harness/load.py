"""The load: wrk runs and their parsed figures, and single checked requests."""

import http.client
import re
import ssl
import subprocess
import time

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


class LoadError(RuntimeError):
    pass


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise LoadError(f"cannot parse a wrk latency: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output):
    """Requests/sec, p50/p99 (ms), request count, errors and non-2xx from `wrk --latency`."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise LoadError("wrk output not understood:\n" + output)
    result = {"rps": float(rps.group(1)), "requests": int(total.group(1)),
              "p50_ms": _ms(p50.group(1)), "p99_ms": _ms(p99.group(1)),
              "non2xx": 0, "socket_errors": {}}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad:
        result["non2xx"] = int(bad.group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     output)
    if errs:
        result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                           map(int, errs.groups())))
    return result


def run_wrk(url, connections, duration, cpus=None, script=None, threads=1, timeout_s=None):
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if timeout_s:
        argv += ["--timeout", f"{timeout_s}s"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise LoadError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    result = parse_wrk(done.stdout)
    if result["requests"] == 0:
        raise LoadError("wrk completed no request:\n" + done.stdout)
    # A server that answers errors fast must not look fast.
    if result["non2xx"] > 0:
        raise LoadError(f"{result['non2xx']} non-2xx answers under load:\n" + done.stdout)
    # Timeouts are kept in the figures (JSON), not fatal: they are part of the result.
    return result


def _connection(host, port, timeout, tls):
    if not tls:
        return http.client.HTTPConnection(host, port, timeout=timeout)
    # The bench's own self-signed certificate: what is measured is the server, not trust.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)


def check(host, port, path="/", method="GET", body=None, expect_len=None, expect_body=None,
          timeout=10.0, tls=False):
    """One request (over HTTPS with `tls`); raises LoadError unless it gets 200 (and the
    expected body)."""
    conn = _connection(host, port, timeout, tls)
    try:
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except OSError as exc:
        raise LoadError(f"{method} http://{host}:{port}{path}: {exc}") from exc
    finally:
        conn.close()
    if resp.status != 200:
        raise LoadError(f"{method} {path} answered {resp.status}: {data[:200]!r}")
    if expect_len is not None and len(data) != expect_len:
        raise LoadError(f"{method} {path}: {len(data)} bytes, expected {expect_len}")
    if expect_body is not None and data != expect_body:
        raise LoadError(f"{method} {path}: body {data[:80]!r}, expected {expect_body[:80]!r}")
    return data


def keeps_alive(host, port, path="/", timeout=10.0, tls=False):
    """True when the server answers two GETs on one connection (HTTP/1.1 keep-alive)."""
    conn = _connection(host, port, timeout, tls)
    try:
        for _ in range(2):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.will_close:
                return False
        return True
    except OSError:
        return False
    finally:
        conn.close()


def timed_get(url, max_time=5.0):
    """Seconds curl needed for one fresh GET, or None when it got no 200 in `max_time`."""
    start = time.monotonic()
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", str(max_time), url], capture_output=True, text=True)
    elapsed = time.monotonic() - start
    return elapsed if done.stdout.strip() == "200" else None
