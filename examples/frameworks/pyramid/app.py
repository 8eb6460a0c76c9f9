"""Pyramid: a Configurator with routes and views, a form, cookies, a signed-cookie
session, an upload, route_url under a mount prefix, an app_iter stream and FileResponse
(through wsgi.file_wrapper). An exception from a view reaches the WSGI server, which
answers 500 (Pyramid has no default exception view)."""
import hashlib
import os

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from pyramid.response import FileResponse, Response
from pyramid.session import SignedCookieSessionFactory

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")


def text(body):
    return Response(body, content_type="text/plain", charset="utf-8")


def index(request):
    return text("index pyramid\n")


def hello(request):
    return text(f"hello {request.matchdict['name']}\n")


def form(request):
    if request.method == "POST":
        return text(f"posted name={request.POST['name']}\n")
    return Response('<form method="post"><input name="name"><button>send</button></form>\n')


def cookies(request):
    response = text(f"flavor={request.cookies.get('flavor')}\n")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", path="/")
    return response


def visits(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return text(f"visits {request.session['visits']}\n")


def upload(request):
    f = request.POST["file"]
    data = f.file.read()
    return text(f"{f.filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.POST['note']}\n")


def go(request):
    return HTTPFound(location=request.route_url("hello", name="world"))


def stream(request):
    response = Response(content_type="text/plain", charset=None)
    response.app_iter = (f"chunk {i}\n".encode() for i in range(3))
    return response


def file(request):
    return FileResponse(SAMPLE, request=request, content_type="text/plain")


def error(request):
    raise RuntimeError("a view failed")


with Configurator() as config:
    config.set_session_factory(SignedCookieSessionFactory("compat-matrix-not-secret"))
    for name, pattern, view in [
        ("index", "/", index),
        ("hello", "/hello/{name}", hello),
        ("form", "/form", form),
        ("cookies", "/cookies", cookies),
        ("session", "/session", visits),
        ("upload", "/upload", upload),
        ("redirect", "/redirect", go),
        ("stream", "/stream", stream),
        ("file", "/file", file),
        ("error", "/error", error),
    ]:
        config.add_route(name, pattern)
        config.add_view(view, route_name=name)
    app = config.make_wsgi_app()
