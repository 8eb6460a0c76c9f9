#include "model/cgi_request.hpp"

#include "model/content_length.hpp"
#include "model/uri.hpp"

#include <array>
#include <charconv>

namespace wsgibridge {
namespace {

using Field = std::string_view Request::*;

/// The Request field a variable fills instead of Request::variables, or nullptr.
/// Dispatched on the length first: a FastCGI request carries ~18 variables, and a
/// linear scan compared each with up to ten names (six of them 11 bytes long).
Field request_field(std::string_view name) noexcept
{
    switch (name.size()) {
    case 9:
        if (name == "PATH_INFO") return &Request::path_info;
        break;
    case 11:
        if (name == "SCRIPT_NAME") return &Request::script_name;
        if (name == "REQUEST_URI") return &Request::target;
        if (name == "SERVER_NAME") return &Request::server_name;
        if (name == "SERVER_PORT") return &Request::server_port;
        if (name == "REMOTE_ADDR") return &Request::remote_addr;
        if (name == "REMOTE_PORT") return &Request::remote_port;
        break;
    case 12:
        if (name == "QUERY_STRING") return &Request::query_string;
        break;
    case 14:
        if (name == "REQUEST_METHOD") return &Request::method;
        break;
    case 15:
        if (name == "SERVER_PROTOCOL") return &Request::protocol;
        break;
    default:
        break;
    }
    return nullptr;
}

/// tchar (RFC 9110 §5.6.2) by table: every HTTP_* name and the method is checked, and
/// the '_' of each name cost a search through the list of punctuation.
constexpr std::array<bool, 256> tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        t[c] = t[c + ('a' - 'A')] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool is_token(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s)
        if (!tchar_table[static_cast<unsigned char>(c)]) return false;
    return true;
}

bool is_on(std::string_view v) noexcept
{
    return iequals(v, "on") || v == "1";
}

// The rare paths of CgiRequestBuilder::add, out of line: with their std::string
// temporaries inside, add() saved and restored six registers and set up unwinding on
// each of a request's ~20-30 calls.
[[gnu::cold, gnu::noinline]] void log_dropped_proxy(const Logger* log)
{
    if (log) log->warning("dropped HTTP_PROXY from the request (httpoxy, CVE-2016-5385)");
}

[[gnu::cold, gnu::noinline]] void log_invalid_name(const Logger* log, std::string_view name)
{
    if (log) log->warning(concat("dropped request header variable with an invalid name: ", name));
}

[[gnu::cold, gnu::noinline]] void note_bad_length(std::error_code& error, std::string& detail,
                                                  std::string_view value)
{
    if (error) return;
    error = errc::bad_content_length;
    detail = concat("CONTENT_LENGTH is not a number: '", value, "'");
}

} // namespace

bool is_cgi_request_variable(std::string_view name) noexcept
{
    if (request_field(name)) return true;
    return name.starts_with("HTTP_") || name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" ||
           name == "HTTPS" || name == "REQUEST_SCHEME";
}

CgiRequestBuilder::CgiRequestBuilder(const CgiRequestOptions& options, Request& out)
    : options_(options), r_(out)
{
    out.variables.reserve(16);
    out.headers.reserve(16);
}

void CgiRequestBuilder::add(std::span<char> name_bytes, std::string_view value)
{
    std::string_view name(name_bytes.data(), name_bytes.size());
    if (name.starts_with("HTTP_") && name.size() > 5) {
        if (name == "HTTP_PROXY") return log_dropped_proxy(options_.log);
        // nginx's fastcgi_params, scgi_params and uwsgi_params pass every request header
        // as HTTP_*, Content-Type and Content-Length included, beside CONTENT_TYPE and
        // CONTENT_LENGTH. RFC 3875 §4.1.18: those copies should not exist and CONTENT_*
        // is the authority; keeping both would join them into CONTENT_LENGTH="23, 23".
        if (name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH") return;
        if (!is_token(name.substr(5))) return log_invalid_name(options_.log, name);
        if (name == "HTTP_AUTHORIZATION") has_authorization_ = true;
        auto header = name_bytes.subspan(5);
        for (char& c : header)
            if (c == '_') c = '-';
        r_.headers.add(std::string_view(header.data(), header.size()), value);
        return;
    }
    if (Field field = request_field(name)) {
        r_.*field = value;
        if (field == &Request::path_info) path_info_ = true;
        // An empty REQUEST_URI is as good as none: rebuild it rather than pass "".
        if (field == &Request::target) request_uri_ = !value.empty();
        return;
    }
    if (name == "CONTENT_TYPE") {
        if (!value.empty()) r_.headers.add("CONTENT-TYPE", value);
        return;
    }
    if (name == "CONTENT_LENGTH") {
        // nginx sends CONTENT_LENGTH "" on a GET: that means no body, not int("").
        if (value.empty()) return;
        r_.content_length = parse_content_length(value);
        if (!r_.content_length) return note_bad_length(error_, detail_, value);
        r_.headers.add("CONTENT-LENGTH", value);
        return;
    }
    if (name == "HTTPS" && is_on(value)) https_ = true;
    if (name == "REQUEST_SCHEME" && iequals(value, "https")) https_ = true;
    if (name == "UWSGI_SCHEME") uwsgi_scheme_ = value; // uWSGI's scheme override
    if (name == "REDIRECT_HTTP_AUTHORIZATION") redirect_authorization_ = value;
    r_.variables.add(name, value);
}

std::error_code CgiRequestBuilder::finish(std::string& scratch)
{
    Request& r = r_;
    if (error_) return error_;
    if (options_.promote_redirect_authorization && redirect_authorization_ &&
        !redirect_authorization_->empty() && !has_authorization_)
        r.headers.add("AUTHORIZATION", *redirect_authorization_);
    if (r.headers.size() > options_.max_header_count) {
        detail_ = concat(r.headers.size(), " header variables");
        return errc::too_many_headers;
    }
    if (!is_token(r.method)) {
        detail_ = r.method.empty() ? "REQUEST_METHOD is not set"
                                   : concat("REQUEST_METHOD is not a token: '", r.method, "'");
        return errc::bad_request;
    }

    bool secure = https_;
    if (iequals(uwsgi_scheme_, "https")) secure = true;
    if (iequals(uwsgi_scheme_, "http")) secure = false;
    r.scheme = secure ? "https" : "http";
    if (r.protocol.empty()) r.protocol = "HTTP/1.0";
    if (r.server_port.empty()) r.server_port = secure ? "443" : "80";

    // Offsets, not views, until every append to `scratch` is done (it may reallocate).
    scratch.clear();
    std::size_t decoded_at = 0, decoded_len = 0, full_at = 0, full_len = 0, uri_at = 0, uri_len = 0;
    // PATH_INFO missing (nginx's stock *_params): the request path, percent-decoded,
    // minus SCRIPT_NAME. Bytes stay bytes: "/caf%C3%A9" gives "/caf\xC3\xA9".
    bool derived = !path_info_ && request_uri_;
    if (derived) {
        decoded_at = scratch.size();
        percent_decode_append(split_target(r.target).path, scratch);
        decoded_len = scratch.size() - decoded_at;
    }
    bool remount = !options_.mount.empty();
    if (remount) {
        full_at = scratch.size();
        if (derived) {
            std::string_view decoded(scratch.data() + decoded_at, decoded_len);
            // The decoded request path already is SCRIPT_NAME + PATH_INFO.
            if (decoded.starts_with(r.script_name))
                scratch.append(decoded);
            else
                scratch.append(r.script_name);
        } else {
            scratch.append(r.script_name).append(r.path_info);
        }
        full_len = scratch.size() - full_at;
    }
    if (!request_uri_) {
        // RFC 3875 has no REQUEST_URI; applications expect one: rebuild it, encoded.
        uri_at = scratch.size();
        percent_encode_path_append(r.script_name, scratch);
        percent_encode_path_append(r.path_info, scratch);
        if (scratch.size() == uri_at) scratch += '/';
        if (!r.query_string.empty()) scratch.append("?").append(r.query_string);
        uri_len = scratch.size() - uri_at;
    }

    if (derived) {
        std::string_view decoded(scratch.data() + decoded_at, decoded_len);
        r.path_info = decoded.starts_with(r.script_name) ? decoded.substr(r.script_name.size())
                                                         : std::string_view{};
    }
    if (remount) {
        std::string_view full(scratch.data() + full_at, full_len), script, info;
        // Outside the mount point: leave what the web server said (it routed it here).
        if (split_mount(full, options_.mount, script, info))
            r.script_name = script, r.path_info = info;
    }
    if (!request_uri_) r.target = std::string_view(scratch.data() + uri_at, uri_len);
    return {};
}

} // namespace wsgibridge
