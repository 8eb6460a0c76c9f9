// The CGI front end (RFC 3875): one request taken from the process environment and
// stdin, answered on stdout, then the process ends. Usable from any program: wsgi-cgi
// calls it, and wsgi-fcgi calls it when it is started as a plain CGI script.
//
// Which environment variables reach Request::variables (the rest of the process
// environment, PATH, HOME, LANG..., stays out of the WSGI environ):
//   - the RFC 3875 meta-variables (AUTH_TYPE, GATEWAY_INTERFACE, PATH_TRANSLATED,
//     REMOTE_HOST, REMOTE_IDENT, REMOTE_USER, SERVER_SOFTWARE; the others fill Request);
//   - what Apache, lighttpd and nginx add: DOCUMENT_ROOT, SCRIPT_FILENAME, SCRIPT_URI,
//     SCRIPT_URL, SERVER_ADDR, SERVER_ADMIN, SERVER_SIGNATURE, REQUEST_SCHEME, HTTPS,
//     UNIQUE_ID, DOCUMENT_URI and the CONTEXT_*, REDIRECT_*, SSL_* families;
//   - names listed in CgiOptions::pass_env (SetEnv values the application expects).
// HTTP_* variables become request headers (HTTP_X_Y -> "X-Y"), except HTTP_PROXY
// (httpoxy, CVE-2016-5385), which is dropped and logged.
#pragma once

#include "export.hpp"
#include "handler.hpp"
#include "limits.hpp"
#include "log.hpp"

#include <string>
#include <system_error>
#include <vector>

namespace wsgibridge {

struct CgiOptions
{
    /// max_header_bytes bounds the CGI environment taken (431 above), max_header_count
    /// the HTTP_* variables, max_body_bytes CONTENT_LENGTH (413), io_timeout a stalled
    /// stdin (408), max_drain_bytes the unread body read and discarded before exit.
    Limits limits;
    /// Non-parsed-header mode: a full "HTTP/1.x 200 OK" status line plus Date and
    /// Connection: close. Also on when the script's file name starts with "nph-".
    bool nph = false;
    /// The script file (shebang mode: argv[1]); its basename selects NPH mode.
    std::string script_path;
    /// Turn REDIRECT_HTTP_AUTHORIZATION (Apache's rewrite workaround for the stripped
    /// Authorization header) into the Authorization header. Off by default: only a
    /// server configured for it should be trusted to set that variable.
    bool promote_redirect_authorization = false;
    /// Extra environment variables to pass to the application; "NAME" or "PREFIX*".
    std::vector<std::string> pass_env;
    /// Where the request comes from and the response goes. wsgi-cgi moves stdout away
    /// from fd 1 (so a stray print() cannot corrupt the response) and passes the new fd.
    int input_fd = 0;
    int output_fd = 1;
    /// The environment to read (nullptr: the process environment, `environ`).
    char** environment = nullptr;
};

/// True when the environment holds a CGI request (REQUEST_METHOD is set and not empty).
WSGIBRIDGE_API bool cgi_request_present(char** environment = nullptr) noexcept;

/// Removes HTTP_PROXY from the process environment (httpoxy): call it before the
/// interpreter starts, so neither os.environ nor any child process sees it.
WSGIBRIDGE_API void scrub_cgi_environment() noexcept;

/// For a program about to serve a CGI request, before the interpreter starts: removes
/// HTTP_PROXY (scrub_cgi_environment) and moves the request's stdin and stdout to
/// close-on-exec descriptors stored in options.input_fd/output_fd, leaving /dev/null on
/// fd 0 and a copy of stderr on fd 1. A stray print(), os.system() or C extension then
/// writes to the error log instead of corrupting the response, and no child process can
/// read the request body.
WSGIBRIDGE_API std::error_code prepare_cgi_process(CgiOptions& options) noexcept;

/// Serves the one request: reads it, calls the handler, drains the unread body
/// (bounded), and returns the exit status: 0 once a response was sent (a 4xx/5xx
/// answered by the gateway included), 1 when the response could not be completed,
/// 2 when there is no CGI request in the environment. Never throws.
WSGIBRIDGE_API int run_cgi(const CgiOptions& options, RequestHandler& handler,
                           const Logger& log) noexcept;

/// Answers the request with a short plain-text error (e.g. 500 when the application
/// failed to import) without any handler, then drains the body like run_cgi.
/// Returns what run_cgi would.
WSGIBRIDGE_API int answer_cgi_error(const CgiOptions& options, int status,
                                    const Logger& log) noexcept;

} // namespace wsgibridge
