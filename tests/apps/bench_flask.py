"""Flask hello for the benchmarks: one route, the same 14 bytes as examples/hello.py."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!\n", 200, {"Content-Type": "text/plain"}


application = app
