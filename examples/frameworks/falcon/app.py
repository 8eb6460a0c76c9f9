"""Falcon: resources, a urlencoded form, cookies, a cookie counter (Falcon has no
session), a multipart upload, a redirect under the mount prefix (req.app), a streamed
body and a file stream (through wsgi.file_wrapper)."""
import hashlib
import os

import falcon

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "sample.txt")


class Index:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "index falcon\n"


class Hello:
    def on_get(self, req, resp, name):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"hello {name}\n"


class Form:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.text = '<form method="post"><input name="name"><button>send</button></form>\n'

    def on_post(self, req, resp):
        form = req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"posted name={form['name']}\n"


class Cookies:
    def on_get(self, req, resp):
        flavor = req.cookies.get("flavor")
        resp.set_cookie("first", "1", secure=False, http_only=False)
        resp.set_cookie("second", "2", path="/", secure=False, http_only=False)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"flavor={flavor}\n"


class Visits:
    def on_get(self, req, resp):
        values = req.get_cookie_values("visits") or ["0"]
        count = int(values[0]) + 1
        resp.set_cookie("visits", str(count), path="/", secure=False)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"visits {count}\n"


class Upload:
    def on_post(self, req, resp):
        note = filename = data = None
        for part in req.get_media():
            if part.name == "file":
                filename, data = part.filename, part.stream.read()
            elif part.name == "note":
                note = part.text
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{filename} {len(data)} {hashlib.sha256(data).hexdigest()} note={note}\n"


class Redirect:
    def on_get(self, req, resp):
        # Falcon has no reverse router: req.app is the mount prefix (SCRIPT_NAME).
        raise falcon.HTTPFound(req.app + "/hello/world")


class Stream:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = (f"chunk {i}\n".encode() for i in range(3))


class File:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.set_stream(open(SAMPLE, "rb"), os.path.getsize(SAMPLE))


class Error:
    def on_get(self, req, resp):
        raise RuntimeError("a view failed")


app = falcon.App()
app.req_options.auto_parse_form_urlencoded = False
app.add_route("/", Index())
app.add_route("/hello/{name}", Hello())
app.add_route("/form", Form())
app.add_route("/cookies", Cookies())
app.add_route("/session", Visits())
app.add_route("/upload", Upload())
app.add_route("/redirect", Redirect())
app.add_route("/stream", Stream())
app.add_route("/file", File())
app.add_route("/error", Error())
