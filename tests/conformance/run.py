"""The conformance suite: every rule of table.py through one front end of wsgi-bridge
(started once, serving tests/conformance/apps.py at two mounts: `conf` as is and
`valid` wrapped in wsgiref.validate.validator).

usage: run.py --front NAME [--results FILE] [--rule SUBSTRING]
Exit 0 when every rule gives the table's answer.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "compat"))
import gateways  # noqa: E402
from table import CLOSE_RULES, RULES  # noqa: E402

FRONTS = ["wsgi-http", "nginx", "apache-proxy-fcgi", "apache-fcgid", "apache-cgid", "lighttpd", "cgi-direct"]
SAMPLE = bytes((i * 31 + i // 251) % 256 for i in range(300_000))
SLOW = b"".join(bytes([65 + i % 26]) * 65536 for i in range(64))


def expectation(rule, front):
    """The table's answer for this front end: the rule's, with the front's (or its
    kind's) documented difference merged in."""
    expect = dict(rule["expect"])
    for key in (front.name, front.kind):
        diff = dict(rule.get("fronts", {}).get(key, {}))
        diff.pop("why", None)
        if "json" in diff and diff["json"] is None:
            expect.pop("json", None)
            diff.pop("json")
        if "json" in diff and isinstance(expect.get("json"), dict):
            expect["json"] = dict(expect["json"], **diff.pop("json"))
        expect.update(diff)
    return expect


def substitute(value, prefix):
    if isinstance(value, str):
        return value.replace("{prefix}", prefix)
    if isinstance(value, list):
        return [substitute(v, prefix) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, prefix) for k, v in value.items()}
    return value


def check(reply, expect, prefix):
    """The differences between a reply and the expectation ([] when it conforms)."""
    bad = []
    complete = expect.get("complete", True)
    if reply.status == 0:
        return [f"no reply: {reply.error}"]
    if complete and reply.error:
        bad.append(f"transport: {reply.error}")
    if not complete and not reply.error:
        bad.append("the response ended cleanly: a client cannot tell it was cut short")
    if "status" in expect and reply.status != expect["status"]:
        bad.append(f"status {reply.status} != {expect['status']}")
    body = expect.get("body")
    if isinstance(body, str):
        body = {"SAMPLE": SAMPLE, "SAMPLE[1000:]": SAMPLE[1000:], "SLOW": SLOW}[body]
    if body is not None and reply.body != body:
        bad.append(f"body {reply.body[:200]!r} ({len(reply.body)} bytes) != {body[:200]!r} "
                   f"({len(body)} bytes)")
    if "body_prefix" in expect and not reply.body.startswith(expect["body_prefix"]):
        bad.append(f"body {reply.body[:200]!r} does not start with {expect['body_prefix']!r}")
    if "body_len" in expect and len(reply.body) != expect["body_len"]:
        bad.append(f"body length {len(reply.body)} != {expect['body_len']}")
    if "json" in expect:
        try:
            got = json.loads(reply.body)
        except ValueError:
            got = f"not JSON: {reply.body[:300]!r}"
        want = substitute(expect["json"], prefix)
        if got != want:
            bad.append(f"app saw {got} != {want}")
    if "headers" in expect:
        names = {k.lower() for k, _ in expect["headers"]}
        got = [(k.lower(), v) for k, v in reply.headers if k.lower() in names]
        want = [(k.lower(), v) for k, v in expect["headers"]]
        if got != want:
            bad.append(f"headers {got} != {want}")
    return bad


def closed(front, app, token, want, timeout=10.0):
    """Polls the app's record of close() calls for `token` until it has `want` of them
    (a server may call close() after the client got the last byte)."""
    deadline = time.monotonic() + timeout
    while True:
        r = front.request(app, "GET", f"/closed/{token}")
        data = json.loads(r.body) if r.status == 200 else {"closes": -1, "rss_growth_kib": []}
        if data["closes"] >= want or time.monotonic() > deadline:
            # one more look: a second close() would arrive right after the first
            time.sleep(0.2)
            r = front.request(app, "GET", f"/closed/{token}")
            return json.loads(r.body) if r.status == 200 else data
        time.sleep(0.1)


def run_rule(front, app, rule):
    method, path, headers, body = rule["request"]
    if method == "SLOW":
        return front.slow_request(app, path, pause=1.0)
    if rule["expect"].get("nothing_after_head"):
        # The exchange's raw bytes: http.client would not read a body after HEAD/204/304
        # even if the server sent one.
        head, after = front.raw(app, method, path)
        status = 0
        first = head.split(b"\n", 1)[0]
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            if line.lower().startswith(b"status:"):
                first = line
        try:
            status = int(first.split()[1])
        except (IndexError, ValueError):
            pass
        return gateways.Reply(status, [], after)
    return front.request(app, method, path, headers, body)


def run_close_rule(front, app, rule, expect):
    token = uuid.uuid4().hex
    path = f"/close/{rule['case']}/{token}"
    bad = []
    if rule["case"] == "disconnect":
        front.disconnect(app, path)
    else:
        reply = front.request(app, "GET", path)
        bad += check(reply, {k: v for k, v in expect.items()
                             if k not in ("closes", "max_rss_growth_kib")}, front.prefix(app))
    record = closed(front, app, token, expect["closes"], timeout=20)
    if record["closes"] != expect["closes"]:
        bad.append(f"close() called {record['closes']} times, not {expect['closes']}")
    # AddressSanitizer keeps freed blocks in its quarantine (256 MiB by default), so under
    # the sanitizer build the peak RSS measures the quarantine, not our buffering: there
    # the rule checks the bytes and close() only.
    if "max_rss_growth_kib" in expect and record["rss_growth_kib"] and not gateways.sanitized():
        growth = max(record["rss_growth_kib"])
        if growth > expect["max_rss_growth_kib"]:
            bad.append(f"peak RSS grew by {growth} KiB streaming it (limit "
                       f"{expect['max_rss_growth_kib']} KiB)")
    return bad


def run(front_name, results_path, only):
    results = {"front": front_name, "rules": {}}
    failed = 0
    with tempfile.TemporaryDirectory(prefix="wsgibridge-conformance-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)
        site = tmp / "apps"
        site.mkdir()
        shutil.copy(HERE / "apps.py", site / "apps.py")
        (site / "sample.bin").write_bytes(SAMPLE)
        (site / "state").mkdir()
        for p in (site, site / "state"):
            p.chmod(0o777 if p.name == "state" else 0o755)
        for p in site.glob("*.*"):
            p.chmod(0o644)
        apps = {"conf": f"{site}/apps.py:application", "valid": f"{site}/apps.py:validated"}
        started = time.monotonic()
        front = None
        try:
            front = gateways.FRONTS[front_name](apps, tmp)
            print(f"{front_name}: up in {time.monotonic() - started:.1f} s", flush=True)
            for rule in RULES + CLOSE_RULES:
                if only and only not in rule["rule"]:
                    continue
                if "only" in rule and front_name not in rule["only"]:
                    continue
                expect = expectation(rule, front)
                mounts = ["conf"] + (["valid"] if rule.get("validated", True) else [])
                for app in mounts:
                    label = rule["rule"] + (" (validator)" if app == "valid" else "")
                    t0 = time.monotonic()
                    if "case" in rule:
                        bad = run_close_rule(front, app, rule, expect)
                    else:
                        bad = check(run_rule(front, app, rule), expect, front.prefix(app))
                    results["rules"][label] = bad or "pass"
                    print(f"  {'pass' if not bad else 'FAIL'} {label} "
                          f"({time.monotonic() - t0:.1f} s)", flush=True)
                    for b in bad:
                        print(f"       {b}", flush=True)
                    failed += bool(bad)
        except gateways.Missing as e:
            print(f"FAIL: {e}")
            results["error"] = str(e)
            failed += 1
        finally:
            if front is not None:
                front.stop()
                if failed:
                    print(front.logs()[-8000:])
        results["seconds"] = round(time.monotonic() - started, 1)
        print(f"{front_name}: {failed} failed, {results['seconds']} s")
    if results_path:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        Path(results_path).write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--front", required=True, choices=FRONTS)
    ap.add_argument("--results")
    ap.add_argument("--rule", default="")
    a = ap.parse_args()
    return run(a.front, a.results, a.rule)


if __name__ == "__main__":
    sys.exit(main())
