// A complete SCGI netstring (with its ',') or uwsgi vars block -> Request, through the
// protocol's codec and the one CGI-variable mapping (model/cgi_request). Sans-I/O:
// the connection, the unit tests and the fuzzers call the same function. Internal.
#pragma once

#include "model/cgi_request.hpp"
#include "wsgibridge/stream_server.hpp"

#include <span>
#include <string>

namespace wsgibridge::stream {

/// Fills `out` from `head`, the SCGI netstring's content with its ',' or the uwsgi vars
/// block (modified in place: header names are rewritten). `options`
/// may be changed (uwsgi's UWSGI_SCRIPT_NAME sets the mount point). `scratch` receives
/// derived bytes; `head` and `scratch` must outlive `out`. Errors: protocol_error
/// (malformed head), too_many_headers, bad_content_length, bad_request; `detail` says
/// why, naming the rule or variable.
std::error_code request_from_head(StreamProtocol protocol, std::span<char> head,
                                  CgiRequestOptions& options, std::string& scratch, Request& out,
                                  std::string& detail);

} // namespace wsgibridge::stream
