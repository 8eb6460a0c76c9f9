#include "request_from_params.hpp"

#include "model/uri.hpp"
#include "params_codec.hpp"

#include <charconv>
#include <optional>

namespace wsgibridge::fastcgi {
namespace {

struct Seen
{
    bool path_info = false;
    bool request_uri = false;
    bool https = false;
    std::size_t header_count = 0;
    bool has_authorization = false;
    std::optional<std::string_view> redirect_authorization;
};

bool is_on(std::string_view v) noexcept
{
    return iequals(v, "on") || v == "1";
}

/// Turns "HTTP_ACCEPT_LANGUAGE" into "ACCEPT-LANGUAGE" in place and returns it.
std::string_view header_name_in_place(std::span<char> name) noexcept
{
    auto header = name.subspan(5);
    for (char& c : header)
        if (c == '_') c = '-';
    return {header.data(), header.size()};
}

/// Characters left alone when a REQUEST_URI has to be rebuilt from decoded parts.
bool keep_in_uri(unsigned char c) noexcept
{
    if (c <= 0x20 || c >= 0x7f) return false;
    return c != '%' && c != '?' && c != '#' && c != '"' && c != '<' && c != '>' && c != '\\' &&
           c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

void percent_encode_append(std::string_view in, std::string& out)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        if (keep_in_uri(c)) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
}

std::error_code take_pair(const std::span<char> name_bytes, std::string_view value, Request& r,
                          Seen& seen)
{
    std::string_view name(name_bytes.data(), name_bytes.size());
    if (name.starts_with("HTTP_") && name.size() > 5) {
        // nginx's fastcgi_params pass every request header as HTTP_*, Content-Type and
        // Content-Length included, beside CONTENT_TYPE/CONTENT_LENGTH. RFC 3875 §4.1.18:
        // those copies should not exist and CONTENT_* is the authority; keeping both
        // would join them into CONTENT_LENGTH="23, 23" (Django, Bottle, Falcon break).
        if (name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH") return {};
        if (name == "HTTP_AUTHORIZATION") seen.has_authorization = true;
        r.headers.add(header_name_in_place(name_bytes), value);
        ++seen.header_count;
        return {};
    }
    if (name == "REDIRECT_HTTP_AUTHORIZATION") seen.redirect_authorization = value;
    if (name == "REQUEST_METHOD")
        r.method = value;
    else if (name == "SCRIPT_NAME")
        r.script_name = value;
    else if (name == "PATH_INFO")
        r.path_info = value, seen.path_info = true;
    else if (name == "QUERY_STRING")
        r.query_string = value;
    else if (name == "REQUEST_URI")
        r.target = value, seen.request_uri = true;
    else if (name == "SERVER_PROTOCOL")
        r.protocol = value;
    else if (name == "SERVER_NAME")
        r.server_name = value;
    else if (name == "SERVER_PORT")
        r.server_port = value;
    else if (name == "REMOTE_ADDR")
        r.remote_addr = value;
    else if (name == "REMOTE_PORT")
        r.remote_port = value;
    else if (name == "CONTENT_TYPE") {
        if (!value.empty()) r.headers.add("CONTENT-TYPE", value), ++seen.header_count;
    } else if (name == "CONTENT_LENGTH") {
        // nginx sends CONTENT_LENGTH "" on a GET: that means no body, not int("").
        if (value.empty()) return {};
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc{} || end != value.data() + value.size())
            return errc::bad_content_length;
        r.content_length = n;
        r.headers.add("CONTENT-LENGTH", value);
        ++seen.header_count;
    } else {
        if (name == "HTTPS" && is_on(value)) seen.https = true;
        if (name == "REQUEST_SCHEME" && iequals(value, "https")) seen.https = true;
        if (!name.starts_with("HTTP_")) r.variables.add(name, value);
    }
    return {};
}

/// PATH_INFO missing (nginx's stock fastcgi_params): the request path, percent-decoded,
/// minus SCRIPT_NAME. Bytes stay bytes: "/caf%C3%A9" gives "/caf\xC3\xA9".
void derive_path_info(Request& r, std::string& scratch, std::size_t& begin, std::size_t& size)
{
    begin = scratch.size();
    percent_decode_append(split_target(r.target).path, scratch);
    size = scratch.size() - begin;
}

} // namespace

std::error_code request_from_params(std::string& params, std::string& scratch,
                                    const ParamsOptions& options, Request& r)
{
    Seen seen;
    std::error_code pair_error;
    auto ec = decode_pairs(std::span<char>(params.data(), params.size()), [&](const Pair& p) {
        if (!pair_error) pair_error = take_pair(p.name, p.value, r, seen);
    });
    if (ec) return ec;
    if (pair_error) return pair_error;
    if (options.promote_redirect_authorization && seen.redirect_authorization &&
        !seen.has_authorization) {
        r.headers.add("AUTHORIZATION", *seen.redirect_authorization);
        ++seen.header_count;
    }
    if (seen.header_count > options.max_header_count) return errc::too_many_headers;
    if (r.method.empty()) return errc::bad_request;

    r.scheme = seen.https ? "https" : "http";
    if (r.protocol.empty()) r.protocol = "HTTP/1.0";
    if (r.server_port.empty()) r.server_port = seen.https ? "443" : "80";

    // Offsets, not views, until every append to `scratch` is done (it may reallocate).
    scratch.clear();
    std::size_t decoded_at = 0, decoded_len = 0, full_at = 0, full_len = 0, uri_at = 0, uri_len = 0;
    bool derived = !seen.path_info && !r.target.empty();
    if (derived) derive_path_info(r, scratch, decoded_at, decoded_len);
    bool remount = !options.mount.empty();
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
    if (!seen.request_uri) {
        uri_at = scratch.size();
        percent_encode_append(r.script_name, scratch);
        percent_encode_append(r.path_info, scratch);
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
        if (split_mount(full, options.mount, script, info))
            r.script_name = script, r.path_info = info;
    }
    if (!seen.request_uri) r.target = std::string_view(scratch.data() + uri_at, uri_len);
    return {};
}

} // namespace wsgibridge::fastcgi
