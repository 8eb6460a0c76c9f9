// The one request model every front end fills (HTTP, FastCGI, CGI) and the invoker
// reads. It holds views only: the bytes belong to the front end's per-request buffer,
// which outlives the call to RequestHandler::handle. It has no socket and no body; the
// body arrives through a BodySource.
#pragma once

#include "headers.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgibridge {

struct Request
{
    std::string_view method;       ///< "GET"
    std::string_view target;       ///< raw request-target, becomes REQUEST_URI
    std::string_view script_name;  ///< decoded bytes: the application's mount point ("" or "/app")
    std::string_view path_info;    ///< decoded bytes below the mount point ("/caf\xc3\xa9")
    std::string_view query_string; ///< raw, without '?'
    std::string_view protocol;     ///< "HTTP/1.1"
    std::string_view scheme;       ///< "http" or "https"
    std::string_view server_name;
    std::string_view server_port;
    std::string_view remote_addr;
    std::string_view remote_port;

    /// HTTP header fields in wire order, names in HTTP form ("Content-Type",
    /// "Accept-Language"). Front ends that receive CGI variables (FastCGI, CGI) turn
    /// HTTP_ACCEPT_LANGUAGE back into "ACCEPT-LANGUAGE" and CONTENT_TYPE into
    /// "CONTENT-TYPE"; names compare case-insensitively, so both forms mean the same.
    HeaderList headers;

    /// Other CGI variables the front server passed (DOCUMENT_ROOT, SCRIPT_FILENAME,
    /// REMOTE_USER, AUTH_TYPE, HTTPS, SetEnv values...), passed on to the environ as-is.
    HeaderList variables;

    /// The body length when the front end knows it (Content-Length), absent for chunked
    /// or otherwise terminated bodies.
    std::optional<std::uint64_t> content_length;
};

} // namespace wsgibridge
