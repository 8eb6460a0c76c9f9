#include "wsgibridge/error.hpp"

#include <string>

namespace wsgibridge {
namespace {

class Category final : public std::error_category
{
public:
    const char* name() const noexcept override { return "wsgibridge"; }

    std::string message(int value) const override
    {
        switch (static_cast<errc>(value)) {
        case errc::ok:
            return "success";
        case errc::need_more:
            return "need more input";
        case errc::end_of_stream:
            return "end of stream";
        case errc::peer_gone:
            return "peer closed the connection";
        case errc::timeout:
            return "timed out";
        case errc::bad_request:
            return "malformed request";
        case errc::bad_content_length:
            return "invalid or conflicting Content-Length";
        case errc::bad_chunk:
            return "malformed chunked encoding";
        case errc::unsupported_transfer_encoding:
            return "unsupported Transfer-Encoding";
        case errc::header_too_large:
            return "request header block too large";
        case errc::too_many_headers:
            return "too many request header fields";
        case errc::body_too_large:
            return "request body too large";
        case errc::body_truncated:
            return "request body shorter than Content-Length";
        case errc::protocol_error:
            return "protocol error";
        case errc::unsupported_version:
            return "unsupported protocol version";
        case errc::app_error:
            return "application error";
        case errc::target_too_long:
            return "request-target too long";
        case errc::method_not_implemented:
            return "method not implemented";
        }
        return "unknown wsgibridge error";
    }
};

} // namespace

const std::error_category& wsgibridge_category() noexcept
{
    static const Category category;
    return category;
}

int http_status_for(std::error_code ec) noexcept
{
    if (ec.category() != wsgibridge_category()) return 500;
    switch (static_cast<errc>(ec.value())) {
    case errc::bad_request:
    case errc::bad_content_length:
    case errc::bad_chunk:
    case errc::body_truncated:
    case errc::protocol_error:
        return 400;
    case errc::timeout:
        return 408;
    case errc::body_too_large:
        return 413;
    case errc::header_too_large:
    case errc::too_many_headers:
        return 431;
    case errc::target_too_long:
        return 414;
    case errc::method_not_implemented:
    case errc::unsupported_transfer_encoding:
        return 501;
    case errc::unsupported_version:
        return 505;
    default:
        return 500;
    }
}

std::string_view gateway_status_line(int status) noexcept
{
    switch (status) {
    case 200:
        return "200 OK";
    case 400:
        return "400 Bad Request";
    case 404:
        return "404 Not Found";
    case 408:
        return "408 Request Timeout";
    case 413:
        return "413 Content Too Large";
    case 414:
        return "414 URI Too Long";
    case 431:
        return "431 Request Header Fields Too Large";
    case 501:
        return "501 Not Implemented";
    case 503:
        return "503 Service Unavailable";
    case 505:
        return "505 HTTP Version Not Supported";
    default:
        return "500 Internal Server Error";
    }
}

} // namespace wsgibridge
