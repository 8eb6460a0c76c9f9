// What every connection of a FastCGI server shares: the options, the handler, the
// logs, the io_context the readers run on and the worker pool requests run on.
#pragma once

#include "management.hpp"
#include "request_state.hpp"
#include "wsgibridge/fastcgi_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <span>

namespace wsgibridge::fastcgi {

struct ServerContext
{
    const FastcgiServerOptions& options;
    RequestHandler& handler;
    const Logger& log;
    const AccessLog& access_log;
    boost::asio::io_context& io;
    boost::asio::thread_pool& workers;
    ServerFigures figures;
    /// Requests accepted and not yet ended, all connections together (FCGI_MAX_REQS).
    std::atomic<unsigned> requests_in_flight{0};
    /// Requests handed to the worker pool and not finished there.
    std::atomic<unsigned> pool_busy{0};
    /// Called on the io thread after each request ends (counts for --max-requests).
    std::function<void()> on_request_done;
    /// The io thread's read buffer: a new connection's first read, and the reads of a
    /// connection that has not needed a buffer of its own yet. Everything read into it
    /// is parsed (and copied where kept) before the io thread does anything else.
    std::span<char> io_buffer;
    /// A finished request's state, reset, for the next BEGIN_REQUEST of any connection
    /// (io thread only): behind nginx or mod_fcgid every request comes on a connection
    /// of its own, and a new state cost its allocation, its PARAMS buffer and the
    /// Request's two field lists each time.
    std::shared_ptr<RequestState> spare_state;
};

} // namespace wsgibridge::fastcgi
