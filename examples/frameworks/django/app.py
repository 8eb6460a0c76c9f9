"""Django in one file: settings, URLconf and views, with CSRF on the form, a session in
a signed cookie (no database), reverse() under a mount prefix and FileResponse (through
wsgi.file_wrapper)."""
import hashlib
import os

from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")

settings.configure(
    DEBUG=False,
    SECRET_KEY="compat-matrix-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    INSTALLED_APPS=["django.contrib.sessions"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    DATABASES={},
    USE_TZ=True,
    APPEND_SLASH=False,
)

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import FileResponse, HttpResponse, StreamingHttpResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.urls import path  # noqa: E402


def text(body, **kwargs):
    return HttpResponse(body, content_type="text/plain; charset=utf-8", **kwargs)


def index(request):
    return text("index django\n")


def hello(request, name):
    return text(f"hello {name}\n")


def form(request):
    if request.method == "POST":
        return text(f"posted name={request.POST['name']}\n")
    return HttpResponse(
        '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" '
        f'value="{get_token(request)}"><input name="name"><button>send</button></form>\n'
    )


def cookies(request):
    response = text(f"flavor={request.COOKIES.get('flavor')}\n")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", path="/")
    return response


def visits(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return text(f"visits {request.session['visits']}\n")


def upload(request):
    f = request.FILES["file"]
    data = f.read()
    return text(f"{f.name} {len(data)} {hashlib.sha256(data).hexdigest()} note={request.POST['note']}\n")


def go(request):
    return redirect("hello", name="world")


def stream(request):
    return StreamingHttpResponse((f"chunk {i}\n" for i in range(3)), content_type="text/plain")


def file(request):
    return FileResponse(open(SAMPLE, "rb"), content_type="text/plain")


def error(request):
    raise RuntimeError("a view failed")


urlpatterns = [
    path("", index),
    path("hello/<str:name>", hello, name="hello"),
    path("form", form),
    path("cookies", cookies),
    path("session", visits),
    path("upload", upload),
    path("redirect", go),
    path("stream", stream),
    path("file", file),
    path("error", error),
]

application = get_wsgi_application()
