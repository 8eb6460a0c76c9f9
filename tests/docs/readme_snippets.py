"""The web-server snippets README.md shows are accepted by the real servers' config checks
(`apache2 -t`, `nginx -t`, `lighttpd -tt`), so one copied into a configuration loads.

Apache takes `#` only at the start of a line (a trailing comment on a directive line is
read as more arguments: "FcgidMaxRequestLen takes one argument", "Invalid ProxyPass
parameter"), and nginx refuses two `location` blocks with the same path in one server.
The examples/ files are run against the servers by the e2e tests; this checks the copies
in the README, which nothing else loads. Each ```apache block is checked as server-level
configuration, each ```nginx block with its `upstream` blocks at http level and the rest
in a server, each unlabelled block that starts with `# lighttpd` in a lighttpd.conf.
Usage: readme_snippets.py README.md"""
import os
import shutil
import subprocess
import sys
import tempfile

APACHE = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
NGINX = "/usr/sbin/nginx"
LIGHTTPD = "/usr/sbin/lighttpd"


def blocks(text, lang):
    """The fenced blocks whose info string is `lang` ("" for unlabelled ones)."""
    found, current, info = [], None, None
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def check(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def apache_conf(tmp, snippet):
    modules = ["mpm_event", "authz_core", "mime", "alias", "cgi", "headers", "proxy",
               "proxy_fcgi", "proxy_scgi", "proxy_uwsgi", "proxy_http", "fcgid", "ssl"]
    lines = [f"ServerRoot {tmp}", "ServerName localhost", "Listen 127.0.0.1:1",
             f"PidFile {tmp}/httpd.pid", f"ErrorLog {tmp}/error.log",
             "TypesConfig /etc/mime.types"]
    lines += [f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so" for m in modules]
    return "\n".join(lines) + "\n" + snippet


def split_nginx(snippet):
    """Top-level statements: `upstream` blocks go to http {}, the rest to server {}."""
    http, server, depth, current = [], [], 0, []
    for line in snippet.splitlines(keepends=True):
        current.append(line)
        code = line.split("#", 1)[0]
        depth += code.count("{") - code.count("}")
        if depth == 0 and code.strip().endswith(("}", ";")):
            stmt = "".join(current)
            (http if stmt.lstrip().startswith("upstream") else server).append(stmt)
            current = []
    return "".join(http), "".join(server) + "".join(current)


def nginx_conf(tmp, snippet):
    for name in ("fastcgi_params", "scgi_params", "uwsgi_params"):
        shutil.copy(f"/etc/nginx/{name}", tmp)
    http, server = split_nginx(snippet)
    return (f"error_log {tmp}/error.log;\npid {tmp}/nginx.pid;\nevents {{}}\nhttp {{\n"
            f"client_body_temp_path {tmp}/body;\n{http}\nserver {{\nlisten 127.0.0.1:1;\n"
            f"{server}\n}}\n}}\n")


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    failures, checked = [], 0
    for prog in (APACHE, NGINX, LIGHTTPD):
        if not os.access(prog, os.X_OK):
            print(f"{prog} missing (scripts/lib.sh installs it)")
            return 1
    for lang, snippets in (("apache", blocks(text, "apache")), ("nginx", blocks(text, "nginx")),
                           ("lighttpd", [b for b in blocks(text, "") if b.startswith("# lighttpd")])):
        for snippet in snippets:
            with tempfile.TemporaryDirectory() as tmp:
                conf = os.path.join(tmp, "server.conf")
                if lang == "apache":
                    body, args = apache_conf(tmp, snippet), [APACHE, "-t", "-d", tmp, "-f", conf]
                elif lang == "nginx":
                    body, args = nginx_conf(tmp, snippet), [NGINX, "-t", "-p", tmp, "-c", conf]
                else:
                    body = (f'server.document-root = "{tmp}"\nserver.port = 1\n'
                            f'server.modules = ("mod_scgi")\n{snippet}')
                    args = [LIGHTTPD, "-tt", "-f", conf]
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(body)
                ok, out = check(args)
                checked += 1
                if not ok:
                    failures.append(f"--- README.md {lang} block refused:\n{snippet}\n{out}\n")
    print(f"{checked} snippets checked")
    for f in failures:
        print(f)
    return 1 if failures or checked < 8 else 0


if __name__ == "__main__":
    sys.exit(main())
