// CGI environment -> Request (RFC 3875 §4.1). Internal to the CGI front end.
#pragma once

#include "wsgibridge/cgi_gateway.hpp"
#include "wsgibridge/request.hpp"

#include <string>
#include <system_error>

namespace wsgibridge::cgi {

/// How the request body ends on stdin.
enum class BodyMode {
    none,           ///< no CONTENT_LENGTH: no body (RFC 3875 §4.2)
    content_length, ///< exactly Request::content_length bytes, never read to EOF
    until_eof,      ///< no CONTENT_LENGTH but a Transfer-Encoding: the server streams a
                    ///< de-chunked body and closes stdin at its end
};

/// A request read from a CGI environment. Every view in `request` points into one
/// buffer owned here, sized once, so the object is neither copied nor moved.
class EnvRequest
{
public:
    EnvRequest() = default;
    EnvRequest(const EnvRequest&) = delete;
    EnvRequest& operator=(const EnvRequest&) = delete;

    Request request;
    BodyMode body_mode = BodyMode::none;
    /// Why parse() failed, for the log line (model/refusal.hpp: for a limit, what was
    /// too big).
    std::string error_detail;

    /// Fills `request` from `env` (NAME=VALUE strings, null-terminated array). Errors:
    /// bad_request (no REQUEST_METHOD, or not a token), bad_content_length,
    /// header_too_large (--max-header-bytes), too_many_headers (--max-header-count).
    /// Dropped variables (HTTP_PROXY, malformed HTTP_*) are logged.
    std::error_code parse(char** env, const CgiOptions& options, const Logger& log);

private:
    std::string buffer_;  // the variables taken, NAME and VALUE back to back
    std::string scratch_; // derived bytes (a rebuilt REQUEST_URI)
};

} // namespace wsgibridge::cgi
