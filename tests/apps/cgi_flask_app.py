# The Flask application the CGI end-to-end tests run in shebang mode: the test writes
# "#!<wsgi-cgi>" followed by this file as htdocs/app.cgi.
import os

from flask import Flask, jsonify, redirect, request

application = Flask(__name__)


@application.route("/")
def index():
    return "hello from flask\n"


@application.route("/query")
def query():
    return jsonify(args=request.args.to_dict(flat=False), raw=request.environ["QUERY_STRING"])


@application.route("/form", methods=["POST"])
def form():
    return jsonify(form=request.form.to_dict(flat=False))


@application.route("/upload", methods=["POST"])
def upload():
    data = request.get_data()
    return jsonify(length=len(data), sum=sum(data))


@application.route("/ignore-body", methods=["POST"])
def ignore_body():
    # A CSRF-style rejection that never reads the body (mod_cgid resets the client when a script leaves input unread).
    return "forbidden\n", 403


@application.route("/redirect")
def go_elsewhere():
    return redirect("/app.cgi/", code=302)


@application.route("/create", methods=["POST"])
def create():
    return "created\n", 201, {"Location": "/items/5"}


@application.route("/café")
def cafe():
    return jsonify(path_info=request.environ["PATH_INFO"], path=request.path)


@application.route("/boom")
def boom():
    raise RuntimeError("boom: secret detail that must not reach the client")


@application.route("/print")
def stray_print():
    print("a stray print that must not corrupt the response")
    return "printed\n"


@application.route("/environ")
def environ():
    env = request.environ
    keys = ["wsgi.run_once", "wsgi.multithread", "wsgi.multiprocess", "wsgi.url_scheme",
            "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI", "HTTP_PROXY", "SERVER_SOFTWARE",
            "GATEWAY_INTERFACE", "HTTP_AUTHORIZATION"]
    return jsonify(environ={k: env.get(k) for k in keys},
                   os_http_proxy=os.environ.get("HTTP_PROXY"),
                   has_path="PATH" in env)
