// FCGI_PARAMS → Request: the PARAMS stream is decoded here (spec 3.4) and every pair
// goes through the one CGI-variable mapping (model/cgi_request). Everything stays a
// view into the request's own buffers: HTTP_* names are rewritten in place into header
// names, and the few derived values (a decoded PATH_INFO, a rebuilt REQUEST_URI) go
// into one scratch string.
#pragma once

#include "model/cgi_request.hpp"
#include "wsgibridge/error.hpp"
#include "wsgibridge/request.hpp"

#include <string>

namespace wsgibridge::fastcgi {

using ParamsOptions = CgiRequestOptions;

/// Fills `out` from the PARAMS stream `params` (modified in place). `scratch` receives
/// derived bytes; both must outlive `out`. Errors: protocol_error (truncated pair: close
/// the connection), too_many_headers (431), bad_content_length or bad_request (400).
std::error_code request_from_params(std::string& params, std::string& scratch,
                                    const ParamsOptions& options, Request& out);

} // namespace wsgibridge::fastcgi
