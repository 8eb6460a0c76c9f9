"""WebOb on its own: Request/Response objects and a hand-written dispatcher, a form,
cookies, a signed cookie (SignedCookieProfile) as the session, an upload, a redirect
built from request.application_url (the mount prefix), an app_iter stream and a file
through wsgi.file_wrapper. An exception reaches the WSGI server (500)."""
import hashlib
import os

from webob import Request, Response
from webob.cookies import SignedCookieProfile
from webob.exc import HTTPFound, HTTPNotFound

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")
PROFILE = SignedCookieProfile("compat-matrix-not-secret", "compat", "visits", path="/")


def text(body):
    return Response(body, content_type="text/plain", charset="utf-8")


def index(request):
    return text("index webob\n")


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
    profile = PROFILE.bind(request)
    count = (profile.get_value() or 0) + 1
    response = text(f"visits {count}\n")
    profile.set_cookies(response, count)
    return response


def upload(request):
    f = request.POST["file"]
    data = f.file.read()
    return text(f"{f.filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.POST['note']}\n")


def go(request):
    return HTTPFound(location=request.application_url + "/hello/world")


def stream(request):
    response = Response(content_type="text/plain", charset=None)
    response.app_iter = (f"chunk {i}\n".encode() for i in range(3))
    return response


def file(request):
    response = Response(content_type="text/plain", charset=None)
    response.content_length = os.path.getsize(SAMPLE)
    response.app_iter = request.environ["wsgi.file_wrapper"](open(SAMPLE, "rb"), 8192)
    return response


def error(request):
    raise RuntimeError("a view failed")


ROUTES = {"/": index, "/form": form, "/cookies": cookies, "/session": visits, "/upload": upload,
          "/redirect": go, "/stream": stream, "/file": file, "/error": error}


def application(environ, start_response):
    request = Request(environ)
    path = request.path_info
    if path.startswith("/hello/"):
        response = text(f"hello {path[len('/hello/'):]}\n")
    else:
        view = ROUTES.get(path)
        response = view(request) if view else HTTPNotFound()
    return response(environ, start_response)
