// One FastCGI request in flight: its PARAMS bytes, the Request viewing them, its body
// queue and where its reply stands. Shared by the connection's reader (io thread) and
// the worker serving it; the fields each side may touch are marked.
#pragma once

#include "body_queue.hpp"
#include "protocol.hpp"
#include "wsgibridge/request.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace wsgibridge::fastcgi {

struct RequestState
{
    // Set by the reader before the request is handed to a worker, read-only after.
    std::uint16_t id = 0;
    Role role = Role::responder;
    bool keep_conn = false;
    std::string params;  ///< the PARAMS stream, rewritten in place by request_from_params
    std::string scratch; ///< derived bytes the Request views
    Request request;
    /// Why the request is answered without the application (431, 413, 400), if so.
    std::error_code rejected;
    std::optional<BodyQueue> body;

    // Reader only.
    bool params_done = false;
    bool dispatched = false;
    bool stdin_ended = false;       ///< the empty STDIN record was read
    bool low_water_watched = false; ///< the body's low-water callback is set

    /// Back to a fresh state for the next request, keeping the capacity of `params`,
    /// `scratch` and the Request's field lists (the io thread keeps one spare state, so
    /// a connection per request allocates none of them again). Reader only, once no
    /// worker holds the state any more.
    void reset() noexcept
    {
        id = 0;
        role = Role::responder;
        keep_conn = false;
        params.clear();
        scratch.clear();
        HeaderList headers = std::move(request.headers);
        HeaderList variables = std::move(request.variables);
        headers.clear();
        variables.clear();
        request = Request{};
        request.headers = std::move(headers);
        request.variables = std::move(variables);
        rejected = {};
        body.reset();
        params_done = dispatched = stdin_ended = low_water_watched = false;
        ended = false;
        aborted = false;
    }

    // Guarded by the connection's write mutex: once true, nothing more is written for
    // this id (END_REQUEST went out, by the worker or on ABORT_REQUEST).
    bool ended = false;
    /// The web server sent ABORT_REQUEST: client_gone() is true, writes fail.
    std::atomic<bool> aborted{false};
};

} // namespace wsgibridge::fastcgi
