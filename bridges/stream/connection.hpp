// One SCGI or uwsgi connection, start to end, on the calling thread: read the head
// (the protocol's codec), turn its CGI variables into the Request (model/cgi_request),
// run the handler with the socket as body and sink, drain, close. Internal.
#pragma once

#include "wsgibridge/stream_server.hpp"

namespace wsgibridge::stream {

struct ConnectionContext
{
    const StreamServerOptions& options;
    RequestHandler& handler;
    const Logger& log;
    const AccessLog& access_log;
};

/// Serves the request on `fd` (a blocking, connected socket the caller closes).
/// Returns true when a request reached the handler or was answered with an error.
bool serve_connection(int fd, const ConnectionContext& context) noexcept;

} // namespace wsgibridge::stream
