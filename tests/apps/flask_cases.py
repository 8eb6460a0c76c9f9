"""Flask through the invoker (tests/unit/wsgi/framework_test.cpp): a real framework's
use of wsgi.input (form and multipart parsing), wsgi.file_wrapper (send_file with
direct passthrough), streaming and HEAD handling."""
import os
import tempfile

from flask import Flask, Response, jsonify, request, send_file, stream_with_context

app = Flask(__name__)

_fd, DATA_PATH = tempfile.mkstemp(prefix="wsgibridge-flask-")
os.write(_fd, b"0123456789" * 1000)
os.close(_fd)
import atexit  # noqa: E402
atexit.register(os.unlink, DATA_PATH)


@app.route("/")
def index():
    return "hello from flask"


@app.route("/form", methods=["POST"])
def form():
    upload = request.files.get("upload")
    return jsonify(
        name=request.form.get("name"),
        upload=upload.read().decode() if upload else None,
        filename=upload.filename if upload else None,
    )


@app.route("/json", methods=["POST"])
def json_echo():
    return jsonify(got=request.get_json(), length=request.content_length)


@app.route("/file")
def file():
    return send_file(DATA_PATH, mimetype="application/octet-stream")


@app.route("/stream")
def stream():
    def gen():
        for i in range(3):
            yield "part%d;" % i
    return Response(stream_with_context(gen()), mimetype="text/plain")
