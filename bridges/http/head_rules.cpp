#include "http/head_rules.hpp"

#include "model/content_length.hpp"
#include "wsgibridge/headers.hpp"

namespace wsgibridge::http {
namespace {

bool alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}
bool hexdig(char c) noexcept
{
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// RFC 3986 section 2.3 and 2.2.
bool unreserved(char c) noexcept
{
    return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool sub_delim(char c) noexcept
{
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

bool all_digits(std::string_view s) noexcept
{
    for (char c : s)
        if (!digit(c)) return false;
    return true;
}

// reg-name = *( unreserved / pct-encoded / sub-delims ), here non-empty: RFC 9110
// section 4.2.1 makes an empty host invalid for http URIs.
bool reg_name(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !hexdig(s[i + 1]) || !hexdig(s[i + 2])) return false;
            i += 2;
        } else if (!unreserved(c) && !sub_delim(c)) {
            return false;
        }
    }
    return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]", contents checked for the right
// alphabet (hex digits, ':' and '.' for an embedded IPv4) rather than parsed.
bool ip_literal_body(std::string_view s) noexcept
{
    if (s.empty()) return false;
    if (s.front() == 'v' || s.front() == 'V') {
        auto dot = s.find('.');
        if (dot == std::string_view::npos || dot == 1) return false;
        for (char c : s.substr(1, dot - 1))
            if (!hexdig(c)) return false;
        auto rest = s.substr(dot + 1);
        if (rest.empty()) return false;
        for (char c : rest)
            if (!unreserved(c) && !sub_delim(c) && c != ':') return false;
        return true;
    }
    if (s.find(':') == std::string_view::npos) return false;
    for (char c : s)
        if (!hexdig(c) && c != ':' && c != '.') return false;
    return true;
}

// uri-host [ ":" port ], the host required non-empty; `need_port` for authority-form.
bool authority(std::string_view s, bool need_port) noexcept
{
    std::string_view host = s, port;
    bool has_port = false;
    if (s.starts_with('[')) {
        auto end = s.find(']');
        if (end == std::string_view::npos || !ip_literal_body(s.substr(1, end - 1))) return false;
        host = {};
        auto rest = s.substr(end + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            has_port = true;
            port = rest.substr(1);
        }
    } else {
        auto colon = s.find(':');
        if (colon != std::string_view::npos) {
            has_port = true;
            host = s.substr(0, colon);
            port = s.substr(colon + 1);
        }
        if (!reg_name(host)) return false;
    }
    if (!all_digits(port)) return false;
    return !need_port || (has_port && !port.empty());
}

bool http_scheme(std::string_view s) noexcept
{
    return iequals(s, "http") || iequals(s, "https");
}

} // namespace

bool valid_host(std::string_view host) noexcept
{
    return host.empty() || authority(host, false);
}

TargetForm target_form(std::string_view target) noexcept
{
    if (target.empty() || target.find('#') != std::string_view::npos) return TargetForm::invalid;
    if (target == "*") return TargetForm::asterisk;
    if (target.front() == '/') return TargetForm::origin;

    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    std::size_t i = 0;
    if (alpha(target[0])) {
        i = 1;
        while (i < target.size() && (alpha(target[i]) || digit(target[i]) || target[i] == '+' ||
                                     target[i] == '-' || target[i] == '.'))
            ++i;
    }
    if (i > 0 && target.substr(i).starts_with("://")) {
        if (!http_scheme(target.substr(0, i))) return TargetForm::invalid;
        auto rest = target.substr(i + 3);
        auto end = rest.find_first_of("/?");
        auto auth = rest.substr(0, end);
        // userinfo is an error (RFC 9110 section 4.2.4): '@' is not in authority().
        return authority(auth, false) ? TargetForm::absolute : TargetForm::invalid;
    }
    return authority(target, true) ? TargetForm::authority : TargetForm::invalid;
}

std::string_view target_authority(std::string_view target) noexcept
{
    if (target_form(target) != TargetForm::absolute) return {};
    auto rest = target.substr(target.find("://") + 3);
    return rest.substr(0, rest.find_first_of("/?"));
}

Refusal validate_head(const RequestHead& head, std::size_t max_target_bytes) noexcept
{
    const auto bad = make_error_code(errc::bad_request);
    if (head.method_string().size() > max_method_bytes)
        return {make_error_code(errc::method_not_implemented), "method longer than 32 bytes"};
    auto target = head.target();
    if (target.size() > max_target_bytes)
        return {make_error_code(errc::target_too_long), "request-target too long"};

    auto form = target_form(target);
    if (head.method() == bhttp::verb::connect) {
        if (form == TargetForm::authority)
            return {make_error_code(errc::method_not_implemented),
                    "CONNECT is a proxy's method, not implemented (RFC 9110 section 9.3.6)"};
        return {bad, "CONNECT without an authority-form target (RFC 9112 section 3.2.3)"};
    }
    switch (form) {
    case TargetForm::origin:
    case TargetForm::absolute:
        break;
    case TargetForm::asterisk:
        if (head.method() != bhttp::verb::options)
            return {bad, "asterisk-form '*' other than with OPTIONS (RFC 9112 section 3.2.4)"};
        break;
    case TargetForm::authority:
        return {bad, "authority-form target other than with CONNECT (RFC 9112 section 3.2.3)"};
    case TargetForm::invalid:
        return {bad, "request-target is none of origin-, absolute-, authority- or asterisk-form "
                     "(RFC 9112 section 3.2)"};
    }

    std::size_t hosts = 0, lengths = 0, types = 0;
    for (const auto& field : head) {
        switch (field.name()) {
        case bhttp::field::host:
            if (++hosts > 1) return {bad, "more than one Host field (RFC 9112 section 3.2)"};
            if (!valid_host(field.value()))
                return {bad, "invalid Host value (RFC 9112 section 3.2)"};
            break;
        case bhttp::field::content_length:
            if (++lengths > 1)
                return {make_error_code(errc::bad_content_length), "Content-Length repeated"};
            // A list ("5, 5"), even of equal values, is refused here rather than
            // collapsed as RFC 9110 section 8.6 allows: one reading for every hop.
            if (!parse_content_length(field.value()))
                return {make_error_code(errc::bad_content_length),
                        "Content-Length is a list or not a number"};
            break;
        case bhttp::field::content_type:
            if (++types > 1)
                return {bad, "more than one Content-Type field (RFC 9110 section 5.3)"};
            break;
        default:
            break;
        }
    }
    if (hosts == 0 && head.version() == 11)
        return {bad, "HTTP/1.1 request without Host (RFC 9112 section 3.2)"};
    return {};
}

Refusal check_raw_head(std::string_view raw) noexcept
{
    // A line starting with whitespace continues the previous one (obs-fold) or, right
    // after the request line, hides a field from some parsers (section 2.2): both 400.
    for (auto nl = raw.find('\n'); nl != std::string_view::npos && nl + 1 < raw.size();
         nl = raw.find('\n', nl + 1)) {
        char c = raw[nl + 1];
        if (c == ' ' || c == '\t')
            return {make_error_code(errc::bad_request),
                    "obsolete line folding or whitespace before a field line (RFC 9112 "
                    "sections 5.2, 2.2)"};
    }
    return {};
}

bool is_server_options(const RequestHead& head) noexcept
{
    return head.method() == bhttp::verb::options && head.target() == "*";
}

} // namespace wsgibridge::http
