"""Bottle: routing, a form, cookies, a signed-cookie session, an upload, get_url under a
mount prefix, a generator response and static_file (through wsgi.file_wrapper)."""
import hashlib
import os

import bottle
from bottle import Bottle, redirect, request, response, static_file

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "compat-matrix-not-secret"

app = Bottle()


@app.route("/")
def index():
    response.content_type = "text/plain; charset=utf-8"
    return "index bottle\n"


@app.route("/hello/<name>", name="hello")
def hello(name):
    response.content_type = "text/plain; charset=utf-8"
    return f"hello {name}\n"


@app.route("/form", method=["GET", "POST"])
def form():
    if request.method == "POST":
        return f"posted name={request.forms.getunicode('name')}\n"
    return '<form method="post"><input name="name"><button>send</button></form>\n'


@app.route("/cookies")
def cookies():
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", path="/")
    return f"flavor={request.get_cookie('flavor')}\n"


@app.route("/session")
def visits():
    # Bottle has no session: a signed cookie is its documented way to keep one.
    count = (request.get_cookie("visits", secret=SECRET) or 0) + 1
    response.set_cookie("visits", count, secret=SECRET, path="/")
    return f"visits {count}\n"


@app.route("/upload", method="POST")
def upload():
    f = request.files.get("file")
    data = f.file.read()
    return f"{f.raw_filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.forms.getunicode('note')}\n"


@app.route("/redirect")
def go():
    redirect(app.get_url("hello", name="world"))


@app.route("/stream")
def stream():
    response.content_type = "text/plain"
    for i in range(3):
        yield f"chunk {i}\n"


@app.route("/file")
def file():
    return static_file("sample.txt", root=os.path.join(HERE, ".."), mimetype="text/plain")


@app.route("/error")
def error():
    raise RuntimeError("a view failed")


bottle.debug(False)
