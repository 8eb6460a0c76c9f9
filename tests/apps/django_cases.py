"""A one-file Django project for tests/unit/wsgi/framework_test.cpp: request.POST and
uploads read through wsgi.input, JSON responses, HEAD, and Django's FileResponse
(which hands its file to wsgi.file_wrapper)."""
import os
import tempfile

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
from django.http import FileResponse, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

_fd, DATA_PATH = tempfile.mkstemp(prefix="wsgibridge-django-")
os.write(_fd, b"abcdefghij" * 500)
os.close(_fd)
import atexit  # noqa: E402
atexit.register(os.unlink, DATA_PATH)


def index(request):
    return HttpResponse("hello from django", content_type="text/plain")


@csrf_exempt
def form(request):
    upload = request.FILES.get("upload")
    return JsonResponse({
        "name": request.POST.get("name"),
        "upload": upload.read().decode() if upload else None,
        "path": request.path,
        "script": request.META.get("SCRIPT_NAME"),
    })


def file(request):
    return FileResponse(open(DATA_PATH, "rb"), content_type="application/octet-stream")


urlpatterns = [path("", index), path("form", form), path("file", file)]

django.setup()
application = get_wsgi_application()
