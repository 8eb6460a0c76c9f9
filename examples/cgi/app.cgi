#!/usr/local/bin/wsgi-cgi
# A WSGI application served as a CGI script: upload it with this .htaccess, make it
# executable (chmod 755 app.cgi) and fix the #! line to where wsgi-cgi is installed.
# The rest of the file is plain Python; wsgi-cgi loads it and calls `application`.
# A Flask or Django project works the same way: `from myproject import app as application`.
# Every request starts a new process, so import only what the request needs.


def application(environ, start_response):
    path = environ.get("PATH_INFO", "") or "/"
    body = f"Hello from {environ['SCRIPT_NAME']}{path}\n".encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]
