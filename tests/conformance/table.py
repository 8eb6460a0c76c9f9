"""The one table of the conformance suite: each rule's request and the answer every
front end must give. A front end may differ only where `fronts` says so and why
(keys: a front end's name, or its kind: "http", "fastcgi", "cgi").

expect keys: status; body (exact bytes); body_prefix; body_len; json (the app's JSON
answer, "{prefix}" replaced by the mount prefix); headers ([(name, value)]: the values of
those names, in order); absent (header names that must not be there); complete (False:
the response must end abnormally, the way a client can tell it is truncated).
nothing_after_head (the raw bytes after the head, not what http.client reads, are the
body: for HEAD, 204 and 304 there must be none).
`only`: the front ends the rule applies to (why_only says why).
`validated`: the rule also runs with the app wrapped in wsgiref.validate.validator
(False where the app itself breaks PEP 3333 on purpose, with the reason).
"""
# mod_fcgid buffers the start of a response (FcgidOutputBufferSize, 64 KiB): when the
# backend aborts it before anything was flushed, Apache discards it and answers its own 500.
FCGID_ABORT = dict(status=500, body=None, body_prefix=b"<!DOCTYPE", complete=True,
                   why="mod_fcgid still buffers the response when wsgi-fcgi aborts it and "
                       "answers its own 500 (the client is told it failed)")

LINES = b"line one\nline two\n\nlast line without newline"

RULES = [
    # PEP 3333 "environ Variables": every required key, with its type.
    dict(rule="environ-keys-and-types", cite="PEP 3333 environ Variables",
         request=("GET", "/environ/x?a=1", [("X-Conformance", "yes")], b""),
         expect=dict(status=200, json={"missing": [], "bad_types": [], "run_once": False,
                                       "url_scheme": "http", "method": "GET",
                                       "protocol": "HTTP/1.1", "host": "compat.test",
                                       "header": "yes", "has_file_wrapper": True}),
         fronts={"cgi": dict(json={"run_once": True},
                             why="PEP 3333 wsgi.run_once: a CGI process serves one request")}),
    # PEP 3333 "Unicode Issues": native strings holding the raw bytes as latin-1.
    dict(rule="non-ascii-path-and-query", cite="PEP 3333 Unicode Issues, RFC 3875 4.1.5",
         request=("GET", "/path/caf%C3%A9/%E2%82%AC?q=%C3%A9+y", [], b""),
         expect=dict(status=200, json={"SCRIPT_NAME": "{prefix}",
                                       "PATH_INFO": "/path/caf\u00c3\u00a9/\u00e2\u0082\u00ac",
                                       "QUERY_STRING": "q=%C3%A9+y"})),
    dict(rule="non-utf8-bytes-in-query", cite="PEP 3333 Unicode Issues, RFC 3875 4.1.7",
         request=("GET", "/path/x?x=%FF", [], b""),
         expect=dict(status=200, json={"SCRIPT_NAME": "{prefix}", "PATH_INFO": "/path/x",
                                       "QUERY_STRING": "x=%FF"}),
         fronts={"lighttpd": dict(status=400, json=None,
                                  why="lighttpd refuses a URL whose %-escapes are not UTF-8 "
                                      "(its server.http-parseopts url-normalize): its own 400")}),
    # The same bytes unencoded in the request line (RFC 9112 3.2 forbids them, but
    # servers accept them and PEP 3333 still wants the raw bytes as latin-1).
    dict(rule="raw-utf8-path-and-query", cite="PEP 3333 Unicode Issues",
         request=("GET", "/path/caf\u00c3\u00a9?q=\u00c3\u00a9", [], b""),
         expect=dict(status=200, json={"SCRIPT_NAME": "{prefix}",
                                       "PATH_INFO": "/path/caf\u00c3\u00a9",
                                       "QUERY_STRING": "q=\u00c3\u00a9"}),
         fronts={"lighttpd": dict(json={"QUERY_STRING": "q=%C3%A9"},
                                  why="lighttpd %-encodes raw bytes of the query before it "
                                      "sets QUERY_STRING (server.http-parseopts url-normalize)")}),
    dict(rule="mount-prefix-split", cite="PEP 3333 URL Reconstruction, RFC 3875 4.1.13",
         request=("GET", "/path/a/b/", [], b""),
         expect=dict(status=200, json={"SCRIPT_NAME": "{prefix}", "PATH_INFO": "/path/a/b/",
                                       "QUERY_STRING": ""})),
    # CONTENT_LENGTH absent vs empty vs zero (PEP 3333: "may be empty or absent").
    dict(rule="content-length-absent", cite="PEP 3333 environ Variables (CONTENT_LENGTH)",
         request=("GET", "/length", [], b""),
         expect=dict(status=200, json={"CONTENT_LENGTH": None, "body": "", "eof": ""}),
         fronts={"apache-fcgid": dict(json={"CONTENT_LENGTH": "0"},
                                      why="mod_fcgid sets CONTENT_LENGTH=0 when there is no body; "
                                          "wsgi-fcgi passes the server's value"),
                 "lighttpd": dict(json={"CONTENT_LENGTH": "0"},
                                  why="lighttpd mod_cgi sets CONTENT_LENGTH=0 when there is no "
                                      "body; wsgi-cgi passes the server's value")}),
    dict(rule="content-length-empty", cite="RFC 3875 4.1.2 (NULL when there is no body)",
         request=("POST", "/length", [("Content-Length", "")], b""),
         expect=dict(status=200, json={"CONTENT_LENGTH": None, "body": "", "eof": ""}),
         only=["cgi-direct"],
         why_only="only a CGI server hands over an empty CONTENT_LENGTH; over HTTP the "
                  "header must be digits (RFC 9110 8.6) and the servers answer 400 themselves"),
    dict(rule="content-length-zero", cite="RFC 9110 8.6, RFC 3875 4.1.2",
         request=("POST", "/length", [], b""),
         expect=dict(status=200, json={"CONTENT_LENGTH": "0", "body": "", "eof": ""})),
    dict(rule="content-length-body", cite="RFC 3875 4.1.2",
         request=("POST", "/length", [("Content-Type", "text/plain")], b"hello"),
         expect=dict(status=200, json={"CONTENT_LENGTH": "5", "body": "hello", "eof": ""})),
    # wsgi.input (PEP 3333 "Input and Error Streams"), reads past the end give b"".
    dict(rule="input-read", cite="PEP 3333 Input and Error Streams",
         request=("POST", "/input/read", [], LINES),
         expect=dict(status=200, json=[LINES.decode()]),
         validated=False, why_not_validated="wsgiref.validate asserts read() gets a size"),
    dict(rule="input-read-n", cite="PEP 3333 Input and Error Streams",
         request=("POST", "/input/read-n", [], LINES),
         expect=dict(status=200, json=["lin", "e on", LINES[7:].decode(), "", ""])),
    dict(rule="input-readline", cite="PEP 3333 Input and Error Streams",
         request=("POST", "/input/readline", [], LINES),
         expect=dict(status=200, json=["line one\n", "line two\n", "\n",
                                       "last line without newline", ""])),
    dict(rule="input-readline-limit", cite="PEP 3333 Input and Error Streams (readline(size))",
         request=("POST", "/input/readline-limit", [], LINES),
         expect=dict(status=200, json=["lin", "e one\n", "li", "ne two\n", "\n", "last "])),
    dict(rule="input-readlines", cite="PEP 3333 Input and Error Streams",
         request=("POST", "/input/readlines", [], LINES),
         expect=dict(status=200, json=["line one\n", "line two\n", "\n",
                                       "last line without newline"])),
    dict(rule="input-iteration", cite="PEP 3333 Input and Error Streams (__iter__)",
         request=("POST", "/input/iter", [], LINES),
         expect=dict(status=200, json=["line one\n", "line two\n", "\n",
                                       "last line without newline"])),
    # The response.
    dict(rule="write-then-iterable", cite="PEP 3333 The write() Callable",
         request=("GET", "/write", [], b""),
         expect=dict(status=200, body=b"one two three four")),
    dict(rule="start-response-twice", cite="PEP 3333 The start_response() Callable",
         request=("GET", "/twice", [], b""),
         expect=dict(status=200, body_prefix=b"second call raised "),
         validated=False, why_not_validated="the app breaks PEP 3333 on purpose"),
    dict(rule="exc-info-before-headers", cite="PEP 3333 Error Handling",
         request=("GET", "/exc-before", [], b""),
         expect=dict(status=500, body=b"replaced by the error page",
                     headers=[("X-Replaced", "yes")])),
    dict(rule="exc-info-after-headers", cite="PEP 3333 Error Handling (re-raise exc_info)",
         request=("GET", "/exc-after", [], b""),
         expect=dict(status=200, body=b"partial ", complete=False),
         fronts={"cgi": dict(complete=True,
                             why="RFC 3875 6.3: a CGI response ends at EOF; the script "
                                 "cannot mark it truncated (the body is cut, nothing is added)"),
                 "apache-fcgid": FCGID_ABORT}),
    dict(rule="set-cookie-order", cite="RFC 6265 4.1, RFC 9110 5.3",
         request=("GET", "/cookies", [], b""),
         expect=dict(status=200, body=b"cookies",
                     headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"),
                              ("Set-Cookie", "c=3")])),
    dict(rule="head-has-no-body", cite="RFC 9110 9.3.2",
         request=("HEAD", "/status/200", [], b""),
         expect=dict(status=200, body=b"", nothing_after_head=True)),
    dict(rule="204-has-no-body", cite="RFC 9110 15.3.5",
         request=("GET", "/status/204", [], b""),
         expect=dict(status=204, body=b"", nothing_after_head=True),
         validated=False, why_not_validated="the app returns a body for a 204 on purpose"),
    dict(rule="304-has-no-body", cite="RFC 9110 15.4.5",
         request=("GET", "/status/304", [], b""),
         expect=dict(status=304, body=b"", nothing_after_head=True),
         validated=False, why_not_validated="the app returns a body for a 304 on purpose"),
    dict(rule="body-longer-than-content-length", cite="RFC 9112 6.3, README",
         request=("GET", "/cl-long", [], b""),
         expect=dict(status=200, body=b"01234"),
         validated=False, why_not_validated="the app's Content-Length is wrong on purpose"),
    dict(rule="body-shorter-than-content-length", cite="RFC 9112 6.3, README",
         request=("GET", "/cl-short", [], b""),
         expect=dict(status=200, body=b"01234", complete=False),
         fronts={"apache-cgid": dict(
             complete=True,
             why="Apache's content-length filter replaces the script's Content-Length with "
                 "the bytes it received when the whole CGI output arrives before EOS; a CGI "
                 "script cannot mark its response truncated (RFC 3875 6.3). wsgi-cgi does "
                 "send the app's Content-Length: 10 with 5 bytes (cgi-direct checks it)"),
             "apache-fcgid": FCGID_ABORT},
         validated=False, why_not_validated="the app's Content-Length is wrong on purpose"),
    # wsgi.file_wrapper (PEP 3333 Optional Platform-Specific File Handling).
    dict(rule="file-wrapper-real-file", cite="PEP 3333 Optional Platform-Specific File Handling",
         request=("GET", "/file/real", [], b""),
         expect=dict(status=200, body="SAMPLE")),
    dict(rule="file-wrapper-from-offset", cite="PEP 3333 Optional Platform-Specific File Handling",
         request=("GET", "/file/offset", [], b""),
         expect=dict(status=200, body="SAMPLE[1000:]")),
    dict(rule="file-wrapper-no-fileno", cite="PEP 3333 Optional Platform-Specific File Handling",
         request=("GET", "/file/bytesio", [], b""),
         expect=dict(status=200, body="SAMPLE")),
    dict(rule="slow-reader", cite="RFC 9112 (flow control is the transport's)",
         request=("SLOW", "/slow", [], b""),
         expect=dict(status=200, body="SLOW")),
]

# Invalid headers handed to start_response are refused (the app sees an exception).
for case in ["space", "colon", "newline", "lf", "non-latin1", "bytes", "empty"]:
    RULES.append(dict(rule=f"invalid-header-{case}", cite="PEP 3333 The start_response() "
                      "Callable, RFC 9110 5.1/5.5",
                      request=("GET", f"/headers/{case}", [], b""),
                      expect=dict(status=200, body_prefix=b"refused "),
                      validated=False, why_not_validated="wsgiref.validate refuses it first"))

# close() exactly once: on success, when the iterable raises, when the client goes away.
CLOSE_RULES = [
    dict(rule="close-once-on-success", cite="PEP 3333 Specification Details (close())",
         case="ok", expect=dict(status=200, body=b"ab", closes=1)),
    dict(rule="close-once-on-app-error", cite="PEP 3333 Specification Details (close())",
         case="error", expect=dict(status=200, body_prefix=b"first ", complete=False, closes=1),
         fronts={"cgi": dict(complete=True,
                             why="RFC 3875 6.3: a CGI response ends at EOF; the script "
                                 "cannot mark it truncated"),
                 "apache-fcgid": FCGID_ABORT}),
    dict(rule="close-once-on-disconnect", cite="PEP 3333 Specification Details (close())",
         case="disconnect", expect=dict(closes=1)),
    dict(rule="stream-100-mib-flat-memory", cite="PEP 3333 Buffering and Streaming",
         case="big", expect=dict(status=200, body_len=100 * 1024 * 1024, closes=1,
                                 max_rss_growth_kib=16 * 1024)),
]
