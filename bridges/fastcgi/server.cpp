// FastcgiServer: the listening socket, the accept loop, the worker pool, signals and
// the graceful stop (stop accepting, let requests in flight end within the grace
// period, then fail them).
#include "connection.hpp"
#include "net/accept_loop.hpp"
#include "net/fd_acceptor.hpp"
#include "peer_filter.hpp"
#include "recycling_allocator.hpp"
#include "server_context.hpp"
#include "wsgibridge/fastcgi_server.hpp"

#include <atomic>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace wsgibridge {

using boost::asio::generic::stream_protocol;

constexpr std::size_t read_buffer_bytes = 64 * 1024;
/// How long an idle server waits on a new connection's first bytes before watching it
/// in the epoll set: web servers write their request right after connecting.
constexpr std::chrono::milliseconds first_read_wait{50};

struct FastcgiServer::Impl
{
    FastcgiServerOptions options;
    const Logger& log;
    boost::asio::io_context io{1};
    boost::asio::thread_pool workers;
    fastcgi::ServerContext context;
    fastcgi::PeerFilter peers;
    /// The socket (bound or adopted; its file removed at the end) and the stop signals.
    net::AcceptLoop listener;
    /// Connections as bare non-blocking fds: a request served from the first read never
    /// joins the epoll set.
    net::FdAcceptor acceptor;
    int family = AF_UNIX;
    /// The io thread's read buffer (ServerContext::io_buffer), not zero-filled.
    std::unique_ptr<char[]> io_buffer = std::make_unique_for_overwrite<char[]>(read_buffer_bytes);
    boost::asio::steady_timer grace_timer{io};
    std::vector<std::weak_ptr<fastcgi::Connection>> connections;
    std::uint64_t requests_done = 0;
    std::uint64_t connections_accepted = 0;
    /// Connections still to wait for before their first recv (see first_read).
    unsigned wait_first_reads = 0;
    bool stopping = false;

    Impl(const FastcgiServerOptions& o, RequestHandler& handler, const Logger& l,
         const AccessLog& access)
        : options(o), log(l),
          workers(std::max(1u, o.threads)), context{options, handler, l,  access, io, workers,
                                                    {},      {},      {}, {},     {}, {}},
          peers(o.web_server_addrs), listener("FastCGI", o.bind, o.listen_fd, o.socket_mode, io),
          acceptor(listener.listen_fd(), "FastCGI", io, l, true)
    {
        context.figures = {options.max_connections, options.max_requests_in_flight, true};
        context.on_request_done = [this] { count_request(); };
        context.io_buffer = {io_buffer.get(), read_buffer_bytes};
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(listener.listen_fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
            family = ss.ss_family;
    }

    void admit(util::UniqueFd s)
    {
        std::string peer;
        if (!peers.allows(s.get(), peer)) {
            log.warning(concat("FastCGI: connection from ", peer,
                               " refused: not in FCGI_WEB_SERVER_ADDRS"));
            return; // closed by the socket's destructor
        }
        std::erase_if(connections, [](const auto& w) { return w.expired(); });
        if (connections.size() >= options.max_connections) {
            log.warning(concat("FastCGI: connection refused: --max-connections (",
                               options.max_connections, ") reached"));
            return;
        }
        if (listener.tcp() && !listener.nodelay_inherited()) {
            int one = 1;
            ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        ++connections_accepted;
        if (log.enabled(LogLevel::debug))
            log.debug(concat("FastCGI: connection ", connections_accepted, " accepted"));
        // The web server usually sent its request (BEGIN_REQUEST, PARAMS, STDIN) with
        // the connection (nginx) or sends it right after (mod_fcgid): one read takes it
        // in, and a connection whose requests all end within it is served and closed
        // right here.
        ssize_t n = first_read(s.get());
        if (n == 0) return; // closed before sending anything
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return; // reset
        auto conn = std::allocate_shared<fastcgi::Connection>(
            fastcgi::RecyclingAllocator<fastcgi::Connection>{}, s.release(), family, context);
        conn->start(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (!conn->closed()) connections.push_back(std::move(conn));
    }

    ssize_t read_now(int fd)
    {
        ssize_t n;
        do
            n = ::recv(fd, context.io_buffer.data(), context.io_buffer.size(), 0);
        while (n < 0 && errno == EINTR);
        return n;
    }

    /// The connection's first bytes, or -1 (EAGAIN) when none came in time. mod_fcgid
    /// connects and only then writes its request: on a shared CPU the accept runs in
    /// between, and the first read finds nothing. While no other connection is open the
    /// io thread has nothing else to do, so it waits here (bounded, and for the
    /// listening socket too: another web server connection ends the wait) instead of
    /// putting the connection in the epoll set, which costs a registration, a
    /// non-blocking switch, a speculative read, an epoll_wait and a deregistration per
    /// request. A signal (EINTR) or the bound ends the wait: the connection then waits
    /// in the epoll set as before and the io_context runs the signal's handler.
    ssize_t first_read(int fd)
    {
        // Once a first read found nothing, the next few connections are waited for
        // before their first recv (its EAGAIN is then known in advance); every few, recv
        // goes first again to see whether the web server now sends with the connect.
        constexpr unsigned wait_first_streak = 16;
        bool idle = connections.empty();
        if (idle && wait_first_reads > 0) {
            --wait_first_reads;
        } else {
            ssize_t n = read_now(fd);
            if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || !idle) return n;
            wait_first_reads = wait_first_streak;
        }
        pollfd p[2] = {{fd, POLLIN, 0}, {listener.listen_fd(), POLLIN, 0}};
        auto bound = std::min(options.limits.io_timeout, first_read_wait);
        if (::poll(p, 2, static_cast<int>(bound.count())) <= 0 || p[0].revents == 0) {
            errno = EAGAIN;
            return -1;
        }
        return read_now(fd);
    }

    void count_request()
    {
        ++requests_done;
        if (options.max_requests && requests_done == options.max_requests && !stopping) {
            log.info(
                concat("FastCGI: served --max-requests (", options.max_requests, "); stopping"));
            begin_stop();
        }
    }

    void begin_stop()
    {
        if (stopping) return;
        stopping = true;
        acceptor.close();
        listener.close();
        for (auto& w : connections)
            if (auto c = w.lock()) c->stop_gracefully();
        grace_timer.cancel();
        grace_timer.expires_after(options.shutdown_grace);
        grace_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            bool any = false;
            for (auto& w : connections)
                if (auto c = w.lock()) c->force_close(), any = true;
            if (any)
                log.warning("FastCGI: requests still running after the grace period were failed");
            // Whatever still holds the io thread now (a connection that will not go
            // away) must not keep the process from exiting.
            grace_timer.expires_after(std::chrono::seconds(1));
            grace_timer.async_wait([this](const boost::system::error_code& e) {
                if (e) return;
                log.warning(
                    "FastCGI: connections still open 1 s after the grace period; stopping anyway");
                io.stop();
            });
        });
        // The timer must not keep run() alive once every connection is gone.
        watch_drained();
    }

    void watch_drained()
    {
        std::erase_if(connections, [](const auto& w) { return w.expired(); });
        // A request in flight holds its connection until it is done, so no connection
        // left means no request left.
        if (connections.empty()) {
            grace_timer.cancel();
            return;
        }
        auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(20));
        t->async_wait([this, t](const boost::system::error_code&) { watch_drained(); });
    }
};

FastcgiServer::FastcgiServer(const FastcgiServerOptions& options, RequestHandler& handler,
                             const Logger& log, const AccessLog& access_log)
    : impl_(std::make_unique<Impl>(options, handler, log, access_log))
{
}

FastcgiServer::~FastcgiServer() = default;

std::string FastcgiServer::local_endpoint() const
{
    return impl_->listener.local_endpoint();
}

void FastcgiServer::run()
{
    auto& d = *impl_;
    if (d.options.handle_signals) {
        ::signal(SIGPIPE, SIG_IGN);
        d.listener.handle_signals([&d](int sig) {
            d.log.info(
                concat("FastCGI: signal ", sig, ": finishing requests in flight, then exiting"));
            d.begin_stop();
        });
    }
    d.log.info(concat("FastCGI: serving on ", local_endpoint(), " with ", d.options.threads,
                      " thread(s)"));
    // Idle: no connection open (a request in flight holds its connection), so nothing
    // else waits for the io thread but signals and stop(), which the wait's bound covers.
    d.acceptor.wait_inline_when(
        [&d] {
            std::erase_if(d.connections, [](const auto& w) { return w.expired(); });
            return d.connections.empty() && !d.stopping;
        },
        std::min(d.options.limits.io_timeout, first_read_wait),
        // A web server that connects before it writes (mod_fcgid) also connects only
        // once it is done with the previous connection: accept4 would find nothing yet.
        [&d] { return d.wait_first_reads > 0; });
    d.acceptor.start([&d](util::UniqueFd fd) { d.admit(std::move(fd)); });
    d.io.run();
    d.workers.join();
}

void FastcgiServer::stop()
{
    boost::asio::post(impl_->io, [d = impl_.get()] { d->begin_stop(); });
}

} // namespace wsgibridge
