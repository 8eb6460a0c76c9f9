"""Behind a proxy: what Flask and Django make of the request (tests/e2e/http_proxy_test.cpp).

/flask/...  Flask: url_for(_external=True), request.remote_addr, is_secure, a redirect
/django/... Django: request.is_secure(), build_absolute_uri(), get_host(), a redirect
Each answers JSON (the redirects answer 302 with an absolute Location)."""
import json

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)

import django  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponseRedirect, JsonResponse  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from flask import Flask, redirect, request, url_for  # noqa: E402


def dj_info(request):
    return JsonResponse({
        "is_secure": request.is_secure(),
        "absolute": request.build_absolute_uri(),
        "host": request.get_host(),
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "script_name": request.META.get("SCRIPT_NAME"),
    })


def dj_go(request):
    return HttpResponseRedirect(request.build_absolute_uri(reverse("info")))


urlpatterns = [path("info", dj_info, name="info"), path("go", dj_go)]
django.setup()
django_app = get_wsgi_application()

flask_app = Flask(__name__)


@flask_app.route("/info")
def info():
    env = request.environ
    return {
        "external": url_for("info", _external=True),
        "remote_addr": request.remote_addr,
        "is_secure": request.is_secure,
        "url_scheme": env["wsgi.url_scheme"],
        "https": env.get("HTTPS"),
        "http_host": env.get("HTTP_HOST"),
        "server_name": env.get("SERVER_NAME"),
        "server_port": env.get("SERVER_PORT"),
        "script_name": env.get("SCRIPT_NAME"),
        "x_forwarded_for": env.get("HTTP_X_FORWARDED_FOR"),
    }


@flask_app.route("/go")
def go():
    return redirect(url_for("info", _external=True))


def application(environ, start_response):
    """/flask and /django, each mounted below whatever SCRIPT_NAME the server gave."""
    path_info = environ.get("PATH_INFO", "")
    for prefix, app in (("/flask", flask_app), ("/django", django_app)):
        if path_info == prefix or path_info.startswith(prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            environ["PATH_INFO"] = path_info[len(prefix):]
            return app(environ, start_response)
    body = json.dumps({"error": "no such app", "path": path_info}).encode()
    start_response("404 Not Found", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))])
    return [body]
