"""Flask: routing, a form, cookies, the session, an upload, url_for under a mount prefix,
a streamed response and send_file (through wsgi.file_wrapper)."""
import hashlib
import os

from flask import Flask, Response, redirect, request, send_file, session, url_for

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")

app = Flask(__name__)
app.secret_key = "compat-matrix-not-secret"


@app.route("/")
def index():
    return "index flask\n"


@app.route("/hello/<name>")
def hello(name):
    return f"hello {name}\n"


@app.route("/form", methods=["GET", "POST"])
def form():
    if request.method == "POST":
        return f"posted name={request.form['name']}\n"
    return '<form method="post"><input name="name"><button>send</button></form>\n'


@app.route("/cookies")
def cookies():
    response = Response(f"flavor={request.cookies.get('flavor')}\n")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", path="/")
    return response


@app.route("/session")
def visits():
    session["visits"] = session.get("visits", 0) + 1
    return f"visits {session['visits']}\n"


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["file"]
    data = f.read()
    return f"{f.filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.form['note']}\n"


@app.route("/redirect")
def go():
    return redirect(url_for("hello", name="world"))


@app.route("/stream")
def stream():
    def chunks():
        for i in range(3):
            yield f"chunk {i}\n"

    return Response(chunks(), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(SAMPLE, mimetype="text/plain")


@app.route("/error")
def error():
    raise RuntimeError("a view failed")
