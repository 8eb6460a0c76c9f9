"""Starts every front end of wsgi-bridge on loopback, once, serving several WSGI
applications each, and sends requests through them. Shared by the framework matrix
(matrix.py) and the conformance suite (tests/conformance/run.py).

Each front end mounts application NAME at a prefix and answers
request(name, method, path, headers, body) -> Reply. Servers are started from the
configuration files the e2e tests and the README use (tests/e2e/conf/*.in, examples/),
in a temporary directory, and stopped by pid. A missing peer raises Missing: the
caller fails, never skips.
"""
import http.client
import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SOURCE_ROOT = Path(os.environ.get("WSGIBRIDGE_SOURCE_ROOT", Path(__file__).resolve().parents[2]))
BUILD_ROOT = Path(os.environ.get("WSGIBRIDGE_BUILD_ROOT", SOURCE_ROOT / "build"))
PYTHON = "/usr/bin/python3"
HOST = "compat.test"  # one Host header everywhere: absolute URLs built by apps match


class Missing(Exception):
    """A peer (server, module, built program) is not installed: the test fails."""


@dataclass
class Reply:
    status: int
    headers: list  # [(name, value)] in the order received
    body: bytes
    error: str = ""  # a transport failure (reset, timeout) instead of a reply

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def need(path):
    if not os.access(path, os.X_OK if not str(path).endswith((".so", ".conf")) else os.R_OK):
        raise Missing(f"{path} is missing (scripts/lib.sh installs it; build first)")
    return str(path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process stopped by pid (SIGTERM, then SIGKILL) when the front end stops."""

    def __init__(self, argv, log, env=None, cwd=None, stdin=None):
        self.argv = argv
        self.log = Path(log)
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=out, env=env, cwd=cwd,
                                          stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                          start_new_session=True)

    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.popen.poll() is not None:
            return
        try:
            os.kill(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=8)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass


def wait_tcp(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    log = proc.log.read_text(errors="replace") if proc else ""
    raise RuntimeError(f"nothing listens on port {port}: {' '.join(proc.argv) if proc else ''}\n{log}")


class RawTargetConnection(http.client.HTTPConnection):
    """Sends the request target as latin-1, so a str of code points < 256 goes out as
    those raw bytes (unencoded UTF-8 in a path, as some clients send it)."""

    def _encode_request(self, request):
        return request.encode("latin-1")


def http_request(port, method, target, headers=(), body=b"", timeout=30.0, pause=0.0):
    """One request on its own connection. A body cut short (the server closed or reset
    before the end its framing announced) gives the part received and error set.
    `pause`: read the first 64 KiB, then wait that long before reading on (a slow reader)."""
    conn = RawTargetConnection("127.0.0.1", port, timeout=timeout)
    r = None
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", HOST)
        # One request per connection: a server keeping it alive after a truncated
        # response (Apache does, till KeepAliveTimeout) would only delay the end.
        conn.putheader("Connection", "close")
        for k, v in headers:
            conn.putheader(k, v)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        data = b""
        if pause:
            data = r.read(65536)
            time.sleep(pause)
        data += r.read()
        return Reply(r.status, r.getheaders(), data)
    except http.client.IncompleteRead as e:
        return Reply(r.status, r.getheaders(), data + e.partial, error="incomplete body")
    except (OSError, http.client.HTTPException) as e:
        if r is not None:
            return Reply(r.status, r.getheaders(), b"", error=f"{type(e).__name__}: {e}")
        return Reply(0, [], b"", error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def http_raw(port, method, target, timeout=10.0):
    """The bytes of a whole exchange on one connection (Connection: close), split into
    the head and what follows it: for HEAD, 204 and 304 nothing may follow."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
                  .encode("latin-1"))
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except socket.timeout:
            pass
    head, _, after = data.partition(b"\r\n\r\n")
    return head, after


def http_disconnect(port, target, after=65536):
    """Sends a GET, reads `after` bytes of the answer and closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        got = 0
        while got < after:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def run_user():
    """Apache and lighttpd refuse to run requests as root: www-data when we are root."""
    if os.geteuid() == 0:
        return "www-data", "www-data"
    name = pwd.getpwuid(os.geteuid()).pw_name
    return name, "#" + str(os.getegid())


def substitute(text, variables):
    for k, v in variables.items():
        text = text.replace(f"@{k}@", str(v))
    return text


def example_with(name, edits):
    """examples/NAME with each `from` replaced; a missing `from` is an error, so the
    example and the test cannot drift apart."""
    text = (SOURCE_ROOT / "examples" / name).read_text()
    for a, b in edits:
        if a not in text:
            raise RuntimeError(f"examples/{name} no longer contains {a!r}")
        text = text.replace(a, b)
    return text


def write(path, text, mode=0o644):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


class Front:
    """Base: `apps` maps a name to an application file; subclasses start a server."""

    name = "?"
    kind = "http"  # http, fastcgi or cgi: the gateway program behind the server

    def __init__(self, apps, workdir):
        self.apps = dict(apps)
        self.dir = Path(workdir) / self.name
        self.dir.mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        self.procs = []

    def spawn(self, argv, logname, **kw):
        p = Proc(argv, self.dir / logname, **kw)
        self.procs.append(p)
        return p

    def prefix(self, app):
        return "/" + app

    def request(self, app, method, path, headers=(), body=b""):
        return http_request(self.port, method, self.prefix(app) + path, headers, body)

    def slow_request(self, app, path, pause):
        return http_request(self.port, "GET", self.prefix(app) + path, pause=pause)

    def disconnect(self, app, path):
        http_disconnect(self.port, self.prefix(app) + path)

    def raw(self, app, method, path):
        return http_raw(self.port, method, self.prefix(app) + path)

    def logs(self):
        out = []
        for f in sorted(self.dir.glob("*.log")):
            text = f.read_text(errors="replace")
            if text.strip():
                out.append(f"--- {f.name}\n{text[-4000:]}")
        return "\n".join(out)

    def stop(self):
        for p in reversed(self.procs):
            p.stop()


def sanitized():
    """True when the programs were built with AddressSanitizer (meson -Db_sanitize=address)."""
    try:
        return b"libasan.so" in (BUILD_ROOT / "cli" / "wsgi-http").read_bytes()
    except OSError:
        return False


def gateway(program):
    return need(BUILD_ROOT / "cli" / program)


class Reference(Front):
    """The standard library's wsgiref server, every app mounted at every prefix the
    front ends use (tests/compat/reference_server.py)."""

    name = "wsgiref"

    def __init__(self, apps, workdir, prefixes):
        super().__init__(apps, workdir)
        self.port = free_port()
        self.prefixes = prefixes
        mounts = [f"{p}={self.apps[a]}" for a, p in prefixes]
        p = self.spawn([PYTHON, str(Path(__file__).with_name("reference_server.py")),
                        str(self.port)] + mounts, "wsgiref.log")
        wait_tcp(self.port, p, 60)

    def request_at(self, prefix, method, path, headers=(), body=b""):
        return http_request(self.port, method, prefix + path, headers, body)


class WsgiHttp(Front):
    """wsgi-http on its own: one process per app, --mount /NAME."""

    name = "wsgi-http"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        self.ports = {}
        procs = []
        for a, f in self.apps.items():
            port = free_port()
            self.ports[a] = port
            procs.append((port, self.spawn([gateway("wsgi-http"), "--allow-root", "--app", f, "--bind",
                                            f"127.0.0.1:{port}", "--mount", "/" + a, "--threads", "2"],
                                           f"{a}.log")))
        for port, p in procs:
            wait_tcp(port, p, 60)

    def request(self, app, method, path, headers=(), body=b""):
        return http_request(self.ports[app], method, self.prefix(app) + path, headers, body)

    def slow_request(self, app, path, pause):
        return http_request(self.ports[app], "GET", self.prefix(app) + path, pause=pause)

    def disconnect(self, app, path):
        http_disconnect(self.ports[app], self.prefix(app) + path)

    def raw(self, app, method, path):
        return http_raw(self.ports[app], method, self.prefix(app) + path)


def start_fcgi_backends(front, bind_kind="tcp"):
    """One standalone wsgi-fcgi per app with --mount /NAME (the servers send the whole
    path as SCRIPT_NAME); returns {app: bind address}."""
    binds, procs = {}, []
    for a, f in front.apps.items():
        if bind_kind == "unix":
            addr = front.dir / f"{a}.sock"
            bind = f"unix:{addr}"
        else:
            addr = free_port()
            bind = f"127.0.0.1:{addr}"
        binds[a] = addr
        procs.append((addr, front.spawn([gateway("wsgi-fcgi"), "--allow-root", "--app", f, "--bind", bind,
                                         "--mount", "/" + a, "--socket-mode", "0666"],
                                        f"fcgi-{a}.log")))
    for addr, p in procs:
        if isinstance(addr, int):
            wait_tcp(addr, p, 60)
        else:
            deadline = time.monotonic() + 60
            while not addr.exists() and p.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not addr.exists():
                raise RuntimeError(f"wsgi-fcgi did not start\n{p.log.read_text(errors='replace')}")
    return binds


class Nginx(Front):
    """nginx (examples/nginx/wsgi-app.conf, one location per app) -> wsgi-fcgi on unix
    sockets, stock fastcgi_params, fastcgi_keep_conn."""

    name = "nginx"
    kind = "fastcgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        nginx = need("/usr/sbin/nginx")
        socks = start_fcgi_backends(self, "unix")
        self.port = free_port()
        site = example_with("nginx/wsgi-app.conf", [
            ("server unix:/run/wsgi-fcgi/app.sock;", "server unix:@SOCK@;"),
            ("listen 80;", f"listen 127.0.0.1:{self.port};"),
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;")])
        # one upstream and one location per app, cut from the example
        head, _, rest = site.partition("server {")
        server_head, _, location = rest.partition("    location /app/ {")
        location = "    location /app/ {" + location.rsplit("}", 1)[0]
        text = ""
        blocks = ""
        for a, sock in socks.items():
            text += head.replace("wsgi_app", f"wsgi_{a}").replace("@SOCK@", str(sock))
            blocks += location.replace("/app/", f"/{a}/").replace("wsgi_app", f"wsgi_{a}")
        text += "server {" + server_head + blocks + "}\n"
        write(self.dir / "site.conf", text)
        write(self.dir / "nginx.conf", substitute(
            (SOURCE_ROOT / "tests/e2e/conf/fcgi_nginx.conf.in").read_text(),
            {"DIR": self.dir, "FCGI_PORT": free_port(), "TCP_PORT": free_port()}))
        p = self.spawn([nginx, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                        "-e", str(self.dir / "nginx-error.log")], "nginx-stderr.log")
        wait_tcp(self.port, p)


def start_apache(front, template, variables):
    apache = need("/usr/sbin/apache2")
    user, group = run_user()
    variables = dict(variables, DIR=front.dir, USER=user, GROUP=group)
    write(front.dir / "httpd.conf",
          substitute((SOURCE_ROOT / "tests/e2e/conf" / template).read_text(), variables))
    p = front.spawn([apache, "-d", str(front.dir), "-f", str(front.dir / "httpd.conf"),
                     "-DFOREGROUND"], "stderr.log")
    wait_tcp(variables["PORT"], p)
    return p


class ApacheProxyFcgi(Front):
    """Apache mod_proxy_fcgi (examples/apache-proxy-fcgi/wsgi-app.conf, one ProxyPass per
    app) -> wsgi-fcgi on TCP with --mount."""

    name = "apache-proxy-fcgi"
    kind = "fastcgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        need("/usr/lib/apache2/modules/mod_proxy_fcgi.so")
        ports = start_fcgi_backends(self, "tcp")
        conf = ""
        for a, port in ports.items():
            conf += example_with("apache-proxy-fcgi/wsgi-app.conf", [
                ('ProxyPass "/app/" "fcgi://127.0.0.1:9000/"',
                 f'ProxyPass "/{a}/" "fcgi://127.0.0.1:{port}/"')])
        write(self.dir / "wsgi-app.conf", conf)
        self.port = free_port()
        start_apache(self, "fcgi_apache_proxy.conf.in", {"PORT": self.port})


class ApacheFcgid(Front):
    """Apache mod_fcgid spawning wsgi-fcgi through examples/apache-fcgid/app.fcgi, one
    wrapper per app (htdocs/NAME.fcgi, so SCRIPT_NAME=/NAME.fcgi)."""

    name = "apache-fcgid"
    kind = "fastcgi"

    def prefix(self, app):
        return f"/{app}.fcgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        need("/usr/lib/apache2/modules/mod_fcgid.so")
        wsgi_fcgi = gateway("wsgi-fcgi")
        htdocs = self.dir / "htdocs"
        write(self.dir / "wsgi-app.conf", example_with(
            "apache-fcgid/wsgi-app.conf", [('"/srv/app/htdocs"', f'"{htdocs}"')]))
        for a, f in self.apps.items():
            write(htdocs / f"{a}.fcgi", example_with("apache-fcgid/app.fcgi", [
                ("/usr/local/bin/wsgi-fcgi", wsgi_fcgi), ("--app /srv/app/app.py", f"--app {f}")]),
                0o755)
        os.chmod(htdocs, 0o755)
        self.port = free_port()
        start_apache(self, "fcgi_apache_fcgid.conf.in", {"PORT": self.port})


def cgi_scripts(front, htdocs):
    """htdocs/NAME.cgi for each app: the README's shebang mode. The #! line names the app
    file with --app (one option fits there), so the script's own name never becomes
    the module name of the app."""
    wsgi_cgi = gateway("wsgi-cgi")
    for a, f in front.apps.items():
        write(htdocs / f"{a}.cgi", f"#!{wsgi_cgi} --app {f}\n", 0o755)
    write(htdocs / ".htaccess", (SOURCE_ROOT / "examples/cgi/.htaccess").read_text())
    os.chmod(htdocs, 0o755)


class ApacheCgid(Front):
    """Apache (event MPM) + mod_cgid running htdocs/NAME.cgi through the .htaccess of
    examples/cgi/ (tests/e2e/conf/cgi_apache.conf.in)."""

    name = "apache-cgid"
    kind = "cgi"

    def prefix(self, app):
        return f"/{app}.cgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        need("/usr/lib/apache2/modules/mod_cgid.so")
        cgi_scripts(self, self.dir / "htdocs")
        self.port = free_port()
        start_apache(self, "cgi_apache.conf.in",
                     {"PORT": self.port, "MPM": "event", "CGI_MODULE": "cgid"})


class Lighttpd(Front):
    """lighttpd mod_cgi running htdocs/NAME.cgi by its #! line (cgi.assign ".cgi" => "")."""

    name = "lighttpd"
    kind = "cgi"

    def prefix(self, app):
        return f"/{app}.cgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        lighttpd = need("/usr/sbin/lighttpd")
        cgi_scripts(self, self.dir / "htdocs")
        self.port = free_port()
        user, group = run_user()
        for log in ("error.log", "access.log"):
            write(self.dir / log, "", 0o666)
        write(self.dir / "lighttpd.conf", substitute(
            (SOURCE_ROOT / "tests/e2e/conf/cgi_lighttpd.conf.in").read_text(),
            {"DIR": self.dir, "PORT": self.port, "USER": user,
             "GROUP": group.lstrip("#") if group.startswith("#") else group}))
        p = self.spawn([lighttpd, "-D", "-f", str(self.dir / "lighttpd.conf")], "stderr.log")
        wait_tcp(self.port, p)


class CgiDirect(Front):
    """wsgi-cgi executed directly, the environment built here as RFC 3875 §4.1 says
    (what `REQUEST_METHOD=GET PATH_INFO=/ ./app.cgi` does from a terminal); the CGI
    response (§6) is turned into a Reply."""

    name = "cgi-direct"
    kind = "cgi"

    def prefix(self, app):
        return f"/{app}.cgi"

    def __init__(self, apps, workdir):
        super().__init__(apps, workdir)
        cgi_scripts(self, self.dir / "htdocs")
        self.port = 0

    def environ(self, app, method, path, headers, body):
        from urllib.parse import unquote_to_bytes
        raw_path, _, query = path.partition("?")
        env = {b"GATEWAY_INTERFACE": b"CGI/1.1", b"SERVER_PROTOCOL": b"HTTP/1.1",
               b"SERVER_SOFTWARE": b"compat-test", b"SERVER_NAME": HOST.encode(),
               b"SERVER_PORT": b"80", b"REMOTE_ADDR": b"127.0.0.1", b"REMOTE_PORT": b"50000",
               b"REQUEST_METHOD": method.encode(), b"SCRIPT_NAME": self.prefix(app).encode(),
               b"PATH_INFO": unquote_to_bytes(raw_path.encode("latin-1")),
               b"QUERY_STRING": query.encode("latin-1"),
               b"REQUEST_URI": (self.prefix(app) + path).encode("latin-1"), b"HTTP_HOST": HOST.encode(),
               b"SCRIPT_FILENAME": str(self.dir / "htdocs" / f"{app}.cgi").encode(),
               b"DOCUMENT_ROOT": str(self.dir / "htdocs").encode(),
               b"PATH": b"/usr/local/bin:/usr/bin:/bin"}
        if body or method in ("POST", "PUT"):
            env[b"CONTENT_LENGTH"] = str(len(body)).encode()
        for k, v in headers:
            key = k.upper().replace("-", "_").encode()
            if key in (b"CONTENT_TYPE", b"CONTENT_LENGTH"):
                env[key] = v.encode("latin-1")
            else:
                name = b"HTTP_" + key
                env[name] = env[name] + b", " + v.encode("latin-1") if name in env and name != b"HTTP_HOST" else v.encode("latin-1")
        if not env[b"PATH_INFO"]:
            del env[b"PATH_INFO"]
        for k in ("LSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k.encode()] = os.environ[k].encode()
        return env

    def request(self, app, method, path, headers=(), body=b""):
        env = self.environ(app, method, path, headers, body)
        script = self.dir / "htdocs" / f"{app}.cgi"
        try:
            r = subprocess.run([str(script)], input=body, env=env, capture_output=True,
                               timeout=30, cwd=script.parent)
        except subprocess.TimeoutExpired:
            return Reply(0, [], b"", error="timeout")
        with open(self.dir / "cgi-stderr.log", "ab") as log:
            log.write(r.stderr)
        return parse_cgi_response(r.stdout, method)

    def raw(self, app, method, path):
        """The script's own output: RFC 3875 4.3.2 says a script MUST NOT send a body
        for HEAD (and a 204/304 has none, RFC 9110 15.3.5/15.4.5)."""
        env = self.environ(app, method, path, (), b"")
        script = self.dir / "htdocs" / f"{app}.cgi"
        r = subprocess.run([str(script)], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30, cwd=script.parent)
        head, _, after = r.stdout.replace(b"\r\n", b"\n").partition(b"\n\n")
        return head, after

    def slow_request(self, app, path, pause):
        env = self.environ(app, "GET", path, (), b"")
        script = self.dir / "htdocs" / f"{app}.cgi"
        p = subprocess.Popen([str(script)], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=script.parent)
        first = p.stdout.read(65536)
        time.sleep(pause)
        out = first + p.stdout.read()
        p.wait(timeout=30)
        return parse_cgi_response(out)

    def disconnect(self, app, path):
        """The server side of a client going away: the CGI's stdout pipe closes."""
        env = self.environ(app, "GET", path, (), b"")
        script = self.dir / "htdocs" / f"{app}.cgi"
        p = subprocess.Popen([str(script)], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=script.parent)
        p.stdout.read(65536)
        p.stdout.close()
        # What Apache's mod_cgi/mod_cgid do when the request ends early: SIGTERM, and
        # SIGKILL 3 s later (the wait below stands in for it).
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def parse_cgi_response(out, method="GET"):
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = out.partition(b"\n\n")
    if not sep:
        return Reply(0, [], b"", error=f"no CGI header block in {out[:200]!r}")
    headers, status = [], 200
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, _, value = line.decode("latin-1").partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name, value))
    if method == "HEAD":
        body = b""
    # A body shorter than the Content-Length the script announced is what a client
    # of the web server would see as truncated (RFC 9112 6.3).
    length = next((v for k, v in headers if k.lower() == "content-length"), None)
    if length is not None and method != "HEAD" and status not in (204, 304) and len(body) < int(length):
        return Reply(status, headers, body, error="incomplete body")
    return Reply(status, headers, body)


FRONTS = {c.name: c for c in (WsgiHttp, Nginx, ApacheProxyFcgi, ApacheFcgid, ApacheCgid,
                              Lighttpd, CgiDirect)}
