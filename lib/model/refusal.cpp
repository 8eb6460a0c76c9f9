#include "model/refusal.hpp"

#include "wsgibridge/error.hpp"
#include "wsgibridge/log.hpp"

namespace wsgibridge {
namespace {

std::string_view or_default(std::string_view detail, std::string_view fallback) noexcept
{
    return detail.empty() ? fallback : detail;
}

/// "<what> over <option> (<value><unit>)": what to raise, and from what.
std::string over(std::string_view detail, std::string_view fallback, std::string_view option,
                 std::uint64_t value, std::string_view unit)
{
    return concat(or_default(detail, fallback), " over ", option, " (", value, unit, ")");
}

std::string why(std::error_code reason, const Limits& limits, std::string_view detail)
{
    if (reason.category() != make_error_code(errc::bad_request).category())
        return concat(or_default(detail, "malformed request"), " (", reason.message(), ")");
    switch (static_cast<errc>(reason.value())) {
    case errc::header_too_large:
        return over(detail, "request head", "--max-header-bytes", limits.max_header_bytes,
                    " bytes");
    case errc::too_many_headers:
        return over(detail, "header fields", "--max-header-count", limits.max_header_count, "");
    case errc::body_too_large:
        return over(detail, "request body", "--max-body", limits.max_body_bytes, " bytes");
    case errc::target_too_long:
        return over(detail, "request-target", "--max-target-bytes", limits.max_target_bytes,
                    " bytes");
    case errc::timeout:
        return concat(or_default(detail, "request head"), " not complete within --header-timeout (",
                      limits.header_timeout.count(), " ms)");
    case errc::method_not_implemented:
        return std::string(or_default(detail, "method not implemented"));
    case errc::bad_content_length:
        // RFC 9112 section 6.3: a length the server cannot trust is a 400, never a guess.
        return concat("ambiguous body length: ", or_default(detail, "bad Content-Length"),
                      " (RFC 9112 section 6.3)");
    case errc::unsupported_transfer_encoding:
        return "unsupported Transfer-Encoding (only chunked is accepted)";
    case errc::unsupported_version:
        return "unsupported HTTP version";
    case errc::bad_chunk:
        return concat("malformed chunked body: ", detail);
    default:
        return concat("malformed request: ", or_default(detail, reason.message()));
    }
}

} // namespace

std::string refusal_message(std::string_view who, std::error_code reason, const Limits& limits,
                            std::string_view detail)
{
    return concat(who, ": refused with ", http_status_for(reason), ": ",
                  why(reason, limits, detail));
}

} // namespace wsgibridge
