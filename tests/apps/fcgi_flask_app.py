"""The application the FastCGI end-to-end tests serve through each web server.

Flask routes (url_for must honour the mount point the web server and wsgi-fcgi agree
on), a body echo, a streamed response, and a crash outside Flask's own error handling
so the gateway's 500 path is what answers.
"""
import os
import time

from flask import Flask, Response, request, url_for

flask_app = Flask(__name__)


@flask_app.route("/")
def index():
    return "hello from flask\n"


@flask_app.route("/link")
def link():
    return url_for("target", name="x") + "\n"


@flask_app.route("/target/<name>")
def target(name):
    return "target " + name + "\n"


@flask_app.route("/echo", methods=["POST"])
def echo():
    data = request.get_data()
    return Response(data, mimetype="application/octet-stream")


@flask_app.route("/stream")
def stream():
    def chunks():
        for i in range(3):
            yield "chunk%d\n" % i
            time.sleep(0.05)
    return Response(chunks(), mimetype="text/plain")


@flask_app.route("/env", methods=["GET", "POST"])
def env():
    keys = ("SCRIPT_NAME", "PATH_INFO", "REQUEST_URI", "QUERY_STRING", "wsgi.url_scheme",
            "wsgi.multithread", "wsgi.multiprocess", "CONTENT_LENGTH", "CONTENT_TYPE",
            "HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE")
    lines = ["%s=%r" % (k, request.environ.get(k)) for k in keys]
    lines.append("pid=%d" % os.getpid())
    return "\n".join(lines) + "\n"


@flask_app.route("/cookie")
def cookie():
    return "cookie %d bytes\n" % len(request.cookies.get("big", ""))


def application(environ, start_response):
    # Raised outside Flask: the gateway itself must answer 500 and keep serving.
    if environ.get("PATH_INFO", "").endswith("/crash"):
        raise RuntimeError("crash requested")
    return flask_app.wsgi_app(environ, start_response)
