"""Werkzeug on its own: a routing Map, Request/Response, a form, cookies, an HMAC-signed
cookie as the session (Werkzeug 2.1 dropped SecureCookie), an upload, MapAdapter.build
under a mount prefix, a streamed response and wrap_file (wsgi.file_wrapper). An
exception reaches the WSGI server (500)."""
import hashlib
import hmac
import os

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")
SECRET = b"compat-matrix-not-secret"

url_map = Map([
    Rule("/", endpoint="index"),
    Rule("/hello/<name>", endpoint="hello"),
    Rule("/form", endpoint="form", methods=["GET", "POST"]),
    Rule("/cookies", endpoint="cookies"),
    Rule("/session", endpoint="session"),
    Rule("/upload", endpoint="upload", methods=["POST"]),
    Rule("/redirect", endpoint="redirect"),
    Rule("/stream", endpoint="stream"),
    Rule("/file", endpoint="file"),
    Rule("/error", endpoint="error"),
])


def sign(value):
    return value + "." + hmac.new(SECRET, value.encode(), hashlib.sha256).hexdigest()


def unsign(signed):
    value, _, mac = (signed or "").rpartition(".")
    return value if value and hmac.compare_digest(sign(value), signed) else None


def view(request, adapter, endpoint, name=None):
    if endpoint == "index":
        return Response("index werkzeug\n")
    if endpoint == "hello":
        return Response(f"hello {name}\n")
    if endpoint == "form":
        if request.method == "POST":
            return Response(f"posted name={request.form['name']}\n")
        return Response('<form method="post"><input name="name"><button>send</button></form>\n',
                        mimetype="text/html")
    if endpoint == "cookies":
        response = Response(f"flavor={request.cookies.get('flavor')}\n")
        response.set_cookie("first", "1")
        response.set_cookie("second", "2", path="/")
        return response
    if endpoint == "session":
        count = int(unsign(request.cookies.get("visits")) or 0) + 1
        response = Response(f"visits {count}\n")
        response.set_cookie("visits", sign(str(count)), path="/", httponly=True)
        return response
    if endpoint == "upload":
        f = request.files["file"]
        data = f.read()
        return Response(f"{f.filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.form['note']}\n")
    if endpoint == "redirect":
        return redirect(adapter.build("hello", {"name": "world"}))
    if endpoint == "stream":
        return Response((f"chunk {i}\n" for i in range(3)), mimetype="text/plain")
    if endpoint == "file":
        return Response(wrap_file(request.environ, open(SAMPLE, "rb")), mimetype="text/plain",
                        direct_passthrough=True)
    raise RuntimeError("a view failed")


@Request.application
def application(request):
    adapter = url_map.bind_to_environ(request.environ)
    try:
        endpoint, args = adapter.match()
    except HTTPException as e:
        return e
    return view(request, adapter, endpoint, **args)
