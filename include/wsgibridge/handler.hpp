// The one call every front end ends in (as h2o's protocols all end in
// h2o_process_request). The WSGI invoker implements it; tests may implement it in C++.
#pragma once

#include "body_source.hpp"
#include "export.hpp"
#include "request.hpp"
#include "response_sink.hpp"

namespace wsgibridge {

class WSGIBRIDGE_API RequestHandler
{
public:
    virtual ~RequestHandler() = default;

    /// Serves one request to completion: the sink is finished or aborted on return.
    /// May be called from several threads at once. Never throws. The arguments are
    /// borrowed for the call only: nothing may keep them after it returns.
    virtual void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept = 0;
};

} // namespace wsgibridge
