// StreamServer: the listening socket, the accept loop on one io thread, the connections
// served whole (bridges/stream/connection.cpp) on that thread (threads = 1) or on a pool
// of threads, signals and the graceful stop (stop accepting, let the connections in
// flight end).
#include "connection.hpp"
#include "net/accept_loop.hpp"
#include "net/fd_acceptor.hpp"
#include "wsgibridge/stream_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge {

std::string_view protocol_name(StreamProtocol protocol) noexcept
{
    return protocol == StreamProtocol::scgi ? "SCGI" : "uwsgi";
}

struct StreamServer::Impl
{
    StreamServerOptions options;
    const Logger& log;
    boost::asio::io_context io{1};
    /// threads > 1 only. With one thread the io thread serves each connection itself:
    /// one at a time either way, and no hand-off between threads (under the GIL a
    /// hand-off costs more than a hello-world request; the web server queues the rest).
    std::optional<boost::asio::thread_pool> workers;
    stream::ConnectionContext context;
    /// The socket (bound or adopted; its file removed at the end) and the stop signals.
    net::AcceptLoop listener;
    net::FdAcceptor acceptor;
    /// TCP_NODELAY for TCP connections; known once from the listening socket.
    bool tcp = false;
    std::atomic<unsigned> active{0};
    std::atomic<std::uint64_t> requests_done{0};

    Impl(const StreamServerOptions& o, RequestHandler& handler, const Logger& l,
         const AccessLog& access)
        : options(o), log(l), context{options, handler, l, access},
          listener(std::string(protocol_name(o.protocol)), o.bind, o.listen_fd, o.socket_mode, io),
          acceptor(listener.listen_fd(), std::string(protocol_name(o.protocol)), io, l)
    {
        if (options.threads > 1) workers.emplace(options.threads);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(listener.listen_fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
            tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
    }

    void admit(util::UniqueFd connection)
    {
        if (active.load() >= options.max_connections) {
            log.warning(concat(protocol_name(options.protocol),
                               ": connection refused: --max-connections (", options.max_connections,
                               ") reached"));
            return; // closed by its owner
        }
        int fd = connection.release();
        if (tcp) {
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (!workers) return serve(fd);
        ++active;
        boost::asio::post(*workers, [this, fd] {
            serve(fd);
            --active;
        });
    }

    void serve(int fd)
    {
        bool counted = stream::serve_connection(fd, context);
        ::close(fd);
        if (counted) count_request();
    }

    void count_request()
    {
        auto done = ++requests_done;
        if (options.max_requests && done == options.max_requests) {
            log.info(concat(protocol_name(options.protocol), ": served --max-requests (",
                            options.max_requests, "); stopping"));
            boost::asio::post(io, [this] { begin_stop(); });
        }
    }

    // run() returns once the io context has no work; the pool is joined there, so the
    // connections in flight end first (their waits are bounded by --header-timeout and
    // --io-timeout).
    void begin_stop()
    {
        acceptor.close();
        listener.close();
    }
};

StreamServer::StreamServer(const StreamServerOptions& options, RequestHandler& handler,
                           const Logger& log, const AccessLog& access_log)
    : impl_(std::make_unique<Impl>(options, handler, log, access_log))
{
}

StreamServer::~StreamServer() = default;

std::string StreamServer::local_endpoint() const
{
    return impl_->listener.local_endpoint();
}

void StreamServer::run()
{
    auto& d = *impl_;
    // A web server that hangs up must show up as EPIPE on a write.
    ::signal(SIGPIPE, SIG_IGN);
    if (d.options.handle_signals)
        d.listener.handle_signals([&d](int sig) {
            d.log.info(concat(protocol_name(d.options.protocol), ": signal ", sig,
                              ": finishing connections in flight, then exiting"));
            d.begin_stop();
        });
    d.log.info(concat(protocol_name(d.options.protocol), ": serving on ", local_endpoint(),
                      " with ", d.options.threads, " thread(s)"));
    d.acceptor.start([&d](util::UniqueFd fd) { d.admit(std::move(fd)); });
    d.io.run();
    if (d.workers) d.workers->join();
}

void StreamServer::stop()
{
    boost::asio::post(impl_->io, [d = impl_.get()] { d->begin_stop(); });
}

} // namespace wsgibridge
