#include "validate.hpp"

#include "model/cgi_env.hpp"
#include "model/content_length.hpp"
#include "wsgibridge/headers.hpp"

#include <algorithm> // cgi_env.hpp uses std::copy_n without including it
#include <array>

namespace wsgibridge::wsgi {
namespace {

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

/// Visible ASCII, space, HTAB, and obs-text (0x80-0xFF: latin-1 reason phrases).
bool is_field_char(char ch) noexcept
{
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/// One lookup per character instead of a chain of comparisons (start_response checks
/// every header of every response).
struct CharTables
{
    std::array<bool, 256> token{}, field{};
    CharTables()
    {
        for (int c = 0; c < 256; ++c) {
            token[static_cast<std::size_t>(c)] = detail::is_token_char(static_cast<char>(c));
            field[static_cast<std::size_t>(c)] = is_field_char(static_cast<char>(c));
        }
    }
};
const CharTables tables;

} // namespace

std::string_view check_status(std::string_view status, int& code) noexcept
{
    if (status.size() < 4) return "status must be 'NNN reason' (a 3-digit code, a space, a reason)";
    if (!is_digit(status[0]) || !is_digit(status[1]) || !is_digit(status[2]))
        return "status code must be a 3-digit integer";
    if (status[3] != ' ') return "status code must be followed by a space and a reason phrase";
    int value = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    if (value < 100 || value > 599) return "status code must be between 100 and 599";
    for (char c : status.substr(4))
        if (!is_field_char(c)) return "status reason phrase contains a control character";
    code = value;
    return {};
}

std::string_view check_header_name(std::string_view name) noexcept
{
    if (name.empty()) return "header name is empty";
    for (char c : name)
        if (!tables.token[static_cast<unsigned char>(c)])
            return "header name must be a token (letters, digits, !#$%&'*+-.^_`|~)";
    return {};
}

std::string_view check_header_value(std::string_view value) noexcept
{
    for (char c : value) {
        if (tables.field[static_cast<unsigned char>(c)]) continue;
        if (c == '\r' || c == '\n') return "header value contains CR or LF";
        if (c == '\0') return "header value contains NUL";
        if (!is_field_char(c)) return "header value contains a control character";
    }
    return {};
}

bool is_hop_by_hop(std::string_view name) noexcept
{
    // RFC 9110 section 7.6.1, RFC 9112 section 6.1 and RFC 9110 section 11.7 (the proxy
    // authentication fields). By length first: most names match no length.
    switch (name.size()) {
    case 2:
        return iequals(name, "TE");
    case 7:
        return iequals(name, "Trailer") || iequals(name, "Upgrade");
    case 10:
        return iequals(name, "Connection") || iequals(name, "Keep-Alive");
    case 17:
        return iequals(name, "Transfer-Encoding");
    case 18:
        return iequals(name, "Proxy-Authenticate");
    case 19:
        return iequals(name, "Proxy-Authorization");
    default:
        return false;
    }
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) noexcept
{
    // An application's header value may carry optional whitespace (RFC 9110 section 5.5);
    // the number itself follows the one strict rule every front end uses.
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    return wsgibridge::parse_content_length(value);
}

} // namespace wsgibridge::wsgi
