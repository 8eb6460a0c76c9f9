// The RFC 3875 meta-variables of a request, produced in one place for every consumer
// (the WSGI environ, the tests), after lighttpd's http_cgi_headers(). Internal.
#pragma once

#include "wsgibridge/request.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgibridge {

/// The variables the gateway always knows by name; the invoker keeps one interned
/// Python key per value. `http_header` and `variable` carry their name in the call.
enum class CgiKey : std::uint8_t {
    request_method,
    script_name,
    path_info,
    query_string,
    request_uri,
    server_protocol,
    server_name,
    server_port,
    remote_addr,
    remote_port,
    content_type,
    content_length,
    http_header, ///< HTTP_* built from a request header
    variable,    ///< passed through from Request::variables
};
inline constexpr std::size_t cgi_fixed_key_count = 12;

constexpr std::string_view cgi_key_name(CgiKey key) noexcept
{
    constexpr std::array<std::string_view, cgi_fixed_key_count> names{
        "REQUEST_METHOD", "SCRIPT_NAME",     "PATH_INFO",    "QUERY_STRING",
        "REQUEST_URI",    "SERVER_PROTOCOL", "SERVER_NAME",  "SERVER_PORT",
        "REMOTE_ADDR",    "REMOTE_PORT",     "CONTENT_TYPE", "CONTENT_LENGTH"};
    auto i = static_cast<std::size_t>(key);
    return i < names.size() ? names[i] : std::string_view{};
}

enum class DropReason : std::uint8_t {
    /// "X_Forwarded_For" would collide with "X-Forwarded-For" as HTTP_X_FORWARDED_FOR
    /// (CVE-2015-0219); Apache and nginx drop such names, so do we.
    underscore_in_name,
    /// "Proxy:" would become HTTP_PROXY, which urllib and curl take as a proxy (httpoxy).
    httpoxy,
    /// Not a token (RFC 9110 §5.6.2).
    invalid_name,
};

namespace detail {
constexpr bool is_token_char(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/// For each byte of a header name: how the environ name spells it (upper case, '-' as
/// '_'), or 0 when it is not a token character. One lookup per byte instead of the
/// comparisons of is_token_char plus the case mapping (the walk runs per request).
inline constexpr std::array<char, 256> environ_name_char = [] {
    std::array<char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        char ch = static_cast<char>(c);
        if (!is_token_char(ch)) continue;
        table[static_cast<std::size_t>(c)] = ch == '-'                  ? '_'
                                             : (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 32)
                                                                        : ch;
    }
    return table;
}();

/// Why a header cannot become an environ variable, or nullptr-like (false) when it can.
inline bool header_drop_reason(std::string_view name, DropReason& why) noexcept
{
    if (name.empty()) return (why = DropReason::invalid_name), true;
    for (char c : name) {
        if (c == '_') return (why = DropReason::underscore_in_name), true;
        if (!is_token_char(c)) return (why = DropReason::invalid_name), true;
    }
    if (iequals(name, "Proxy")) return (why = DropReason::httpoxy), true;
    return false;
}
} // namespace detail

/// Calls emit(CgiKey, name, value) for every meta-variable of `req`: the fixed ones
/// first, then Request::variables, then one HTTP_* per distinct header name (repeated
/// fields joined with ", ", cookies with "; " as RFC 6265 §5.4 wants). `name` is only
/// valid during the call. Headers that must not reach the app go to drop(name, reason).
/// CONTENT_LENGTH comes from the Content-Length field, else from Request::content_length
/// (a caller that knows the length need not also add the header; RFC 3875 §4.1.2).
template <class Emit, class Drop>
void for_each_cgi_variable(const Request& req, Emit&& emit, Drop&& drop)
{
    emit(CgiKey::request_method, cgi_key_name(CgiKey::request_method), req.method);
    emit(CgiKey::script_name, cgi_key_name(CgiKey::script_name), req.script_name);
    emit(CgiKey::path_info, cgi_key_name(CgiKey::path_info), req.path_info);
    emit(CgiKey::query_string, cgi_key_name(CgiKey::query_string), req.query_string);
    emit(CgiKey::request_uri, cgi_key_name(CgiKey::request_uri), req.target);
    emit(CgiKey::server_protocol, cgi_key_name(CgiKey::server_protocol), req.protocol);
    emit(CgiKey::server_name, cgi_key_name(CgiKey::server_name), req.server_name);
    emit(CgiKey::server_port, cgi_key_name(CgiKey::server_port), req.server_port);
    if (!req.remote_addr.empty())
        emit(CgiKey::remote_addr, cgi_key_name(CgiKey::remote_addr), req.remote_addr);
    if (!req.remote_port.empty())
        emit(CgiKey::remote_port, cgi_key_name(CgiKey::remote_port), req.remote_port);

    for (const auto& var : req.variables) {
        // Headers are the only source of HTTP_*: a front end never puts them here, and
        // HTTP_PROXY must not sneak in through this door either.
        if (var.name.starts_with("HTTP_")) continue;
        emit(CgiKey::variable, var.name, var.value);
    }

    std::array<char, 256> name_buf;
    std::string long_name, joined;
    bool length_seen = false;
    const auto& headers = req.headers;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto& h = headers[i];
        // HTTP_ + upper-cased name with '-' as '_', checked on the way: the same result
        // as detail::header_drop_reason, in the same pass as the name.
        std::size_t n = 5 + h.name.size();
        char* out = name_buf.data();
        if (n > name_buf.size()) {
            long_name.resize(n);
            out = long_name.data();
        }
        std::optional<DropReason> why;
        if (h.name.empty()) why = DropReason::invalid_name;
        for (std::size_t c = 0; c < h.name.size() && !why; ++c) {
            char ch = detail::environ_name_char[static_cast<unsigned char>(h.name[c])];
            if (ch == 0)
                why = DropReason::invalid_name;
            else if (h.name[c] == '_')
                why = DropReason::underscore_in_name;
            out[5 + c] = ch;
        }
        if (!why && h.name.size() == 5 && iequals(h.name, "Proxy")) why = DropReason::httpoxy;
        if (why) {
            drop(h.name, *why);
            continue;
        }
        bool seen_before = false;
        for (std::size_t j = 0; j < i && !seen_before; ++j)
            seen_before = iequals(headers[j].name, h.name);
        if (seen_before) continue;

        std::string_view value = h.value;
        for (std::size_t k = i + 1; k < headers.size(); ++k) {
            if (!iequals(headers[k].name, h.name)) continue;
            if (value.data() != joined.data()) joined.assign(h.value);
            joined += iequals(h.name, "Cookie") ? "; " : ", ";
            joined += headers[k].value;
            value = joined;
        }

        if (iequals(h.name, "Content-Type")) {
            emit(CgiKey::content_type, cgi_key_name(CgiKey::content_type), value);
            continue;
        }
        if (iequals(h.name, "Content-Length")) {
            length_seen = true;
            emit(CgiKey::content_length, cgi_key_name(CgiKey::content_length), value);
            continue;
        }
        std::copy_n("HTTP_", 5, out);
        emit(CgiKey::http_header, std::string_view(out, n), value);
    }
    if (!length_seen && req.content_length) {
        std::array<char, 24> digits;
        auto [end, ec] =
            std::to_chars(digits.data(), digits.data() + digits.size(), *req.content_length);
        (void)ec; // 20 digits fit
        emit(CgiKey::content_length, cgi_key_name(CgiKey::content_length),
             std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
    }
}

} // namespace wsgibridge
