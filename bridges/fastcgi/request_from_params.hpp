// FCGI_PARAMS → Request: the CGI variables the web server sent become the one request
// model. Everything stays a view into the request's own buffers: HTTP_* names are
// rewritten in place into header names, and the few derived values (a decoded
// PATH_INFO, a rebuilt REQUEST_URI) go into one scratch string.
#pragma once

#include "wsgibridge/error.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/request.hpp"

#include <string>
#include <string_view>

namespace wsgibridge::fastcgi {

struct ParamsOptions
{
    /// --mount: the application's mount point. When set, SCRIPT_NAME + PATH_INFO are
    /// re-split at it, for front servers that send the whole path as SCRIPT_NAME
    /// (nginx's stock fastcgi_params, mod_proxy_fcgi without proxy-fcgi-pathinfo).
    std::string_view mount;
    std::size_t max_header_count = Limits{}.max_header_count;
    /// REDIRECT_HTTP_AUTHORIZATION (Apache's rewrite workaround for the Authorization
    /// header it strips) becomes the Authorization header when the request has none.
    /// Off by default: only a web server configured for it should be trusted with it.
    bool promote_redirect_authorization = false;
};

/// Fills `out` from the PARAMS stream `params` (modified in place). `scratch` receives
/// derived bytes; both must outlive `out`. Errors: protocol_error (truncated pair: close
/// the connection), too_many_headers (431), bad_content_length or bad_request (400).
std::error_code request_from_params(std::string& params, std::string& scratch,
                                    const ParamsOptions& options, Request& out);

} // namespace wsgibridge::fastcgi
