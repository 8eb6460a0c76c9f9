// CGI/1.1 meta-variables (RFC 3875 §4.1) -> the one Request model, for every front end
// that receives CGI variables: the CGI environment, FastCGI PARAMS, SCGI headers and
// uwsgi vars. Each front end only decodes its transport and feeds the pairs here, so
// HTTPS/REQUEST_SCHEME, CONTENT_LENGTH, Authorization promotion, HTTP_* mapping,
// PATH_INFO derivation and a rebuilt REQUEST_URI mean the same everywhere. Internal.
#pragma once

#include "wsgibridge/error.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/request.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wsgibridge {

struct CgiRequestOptions
{
    /// --mount: the application's mount point. When set, SCRIPT_NAME + PATH_INFO are
    /// re-split at it, for servers that send the whole path as SCRIPT_NAME (nginx's
    /// stock fastcgi_params/scgi_params/uwsgi_params, mod_proxy_fcgi without
    /// proxy-fcgi-pathinfo). uwsgi's UWSGI_SCRIPT_NAME sets it per request.
    std::string_view mount;
    std::size_t max_header_count = Limits{}.max_header_count;
    /// REDIRECT_HTTP_AUTHORIZATION (Apache's rewrite workaround for the Authorization
    /// header it strips) becomes the Authorization header when the request has none.
    /// Off by default: only a web server configured for it should be trusted with it.
    bool promote_redirect_authorization = false;
    /// Where dropped variables (HTTP_PROXY, malformed HTTP_* names) are logged.
    const Logger* log = nullptr;
};

/// True for the variables the model itself consumes (Request fields, CONTENT_*,
/// HTTP_*, HTTPS, REQUEST_SCHEME...). The CGI front end passes these plus its
/// allow-list; the process environment's PATH or HOME never reach the app.
bool is_cgi_request_variable(std::string_view name) noexcept;

/// Builds a Request from CGI variables fed one at a time. Views into the names and
/// values are kept, so they must outlive the Request; names are rewritten in place
/// (HTTP_ACCEPT_LANGUAGE -> ACCEPT-LANGUAGE), hence the mutable span.
class CgiRequestBuilder
{
public:
    /// Reserves room in `out` for a typical request (nginx's fastcgi_params pass ~18
    /// variables and ~10 headers) so the adds do not regrow the vectors 1, 2, 4, 8, 16.
    CgiRequestBuilder(const CgiRequestOptions& options, Request& out);

    /// Takes one NAME=VALUE. Errors: bad_content_length (400). The first error sticks.
    void add(std::span<char> name, std::string_view value);

    /// Completes the request: defaults, scheme, Authorization, PATH_INFO when absent,
    /// --mount, REQUEST_URI when absent. Derived bytes go to `scratch` (cleared), which
    /// must outlive the Request. Errors: the first add() error, too_many_headers (431),
    /// bad_request (400: REQUEST_METHOD missing or not a token).
    std::error_code finish(std::string& scratch);

    /// Why finish() failed, naming the variable, for the log line.
    const std::string& error_detail() const noexcept { return detail_; }

private:
    const CgiRequestOptions& options_;
    Request& r_;
    std::error_code error_;
    std::string detail_;
    bool path_info_ = false;
    bool request_uri_ = false;
    bool https_ = false;
    bool has_authorization_ = false;
    std::optional<std::string_view> redirect_authorization_;
    std::string_view uwsgi_scheme_;
};

} // namespace wsgibridge
