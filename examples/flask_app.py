"""A small Flask application served by wsgi-http (and the other front ends):

    wsgi-http --app examples/flask_app.py --bind 127.0.0.1:8000

Routes: / (links built with url_for, so a --mount prefix shows up in them),
/hello/<name>, /echo (POST: the body back), /stream (three chunks, flushed one by
one), /boom (raises: the server answers 500 and keeps serving).
"""
import time

from flask import Flask, Response, request, url_for

app = Flask(__name__)


@app.route("/")
def index():
    return {
        "hello": url_for("hello", name="world"),
        "echo": url_for("echo"),
        "stream": url_for("stream"),
        "script_name": request.script_root,
    }


@app.route("/hello/<name>")
def hello(name):
    return f"Hello, {name}!\n"


@app.route("/echo", methods=["POST"])
def echo():
    data = request.get_data()
    return Response(data, mimetype=request.mimetype or "application/octet-stream")


@app.route("/stream")
def stream():
    def generate():
        for i in range(3):
            yield f"chunk {i}\n"
            if i < 2:
                time.sleep(0.3)

    return Response(generate(), mimetype="text/plain")


@app.route("/boom")
def boom():
    raise RuntimeError("boom: this route fails on purpose")


application = app
