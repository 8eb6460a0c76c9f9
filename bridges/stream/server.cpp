// StreamServer: the listening socket, the accept loop on one io thread, a pool of
// threads each serving one whole connection (bridges/stream/connection.cpp), signals and
// the graceful stop (stop accepting, let the connections in flight end).
#include "connection.hpp"
#include "net/listener.hpp"
#include "wsgibridge/stream_server.hpp"

#include <atomic>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge {

using boost::asio::generic::stream_protocol;

std::string_view protocol_name(StreamProtocol protocol) noexcept
{
    return protocol == StreamProtocol::scgi ? "SCGI" : "uwsgi";
}

struct StreamServer::Impl
{
    StreamServerOptions options;
    const Logger& log;
    boost::asio::io_context io{1};
    boost::asio::thread_pool workers;
    stream::ConnectionContext context;
    util::UniqueFd owned_listen_fd; ///< the socket bound for `bind`; none when inherited
    int listen_fd = -1;
    std::optional<boost::asio::basic_socket_acceptor<stream_protocol>> acceptor;
    boost::asio::signal_set signals{io};
    boost::asio::steady_timer retry_timer{io};
    std::atomic<unsigned> active{0};
    std::atomic<std::uint64_t> requests_done{0};
    bool stopping = false; // io thread only

    Impl(const StreamServerOptions& o, RequestHandler& handler, const Logger& l,
         const AccessLog& access)
        : options(o), log(l), workers(std::max(1u, o.threads)), context{options, handler, l, access}
    {
        if (options.bind.empty()) {
            if (options.listen_fd < 0)
                throw std::invalid_argument("StreamServer: no --bind and no listening fd");
            listen_fd = options.listen_fd;
        } else {
            owned_listen_fd = net::open_listener(options.bind, options.socket_mode);
            listen_fd = owned_listen_fd.get();
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
            throw std::system_error(errno, std::generic_category(),
                                    "getsockname on the listening socket");
        int fd = ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup listening socket");
        acceptor.emplace(io);
        acceptor->assign(stream_protocol(ss.ss_family, SOCK_STREAM), fd);
    }

    ~Impl()
    {
        if (owned_listen_fd && options.bind.starts_with("unix:"))
            ::unlink(options.bind.substr(5).c_str());
    }

    void accept()
    {
        acceptor->async_accept(
            [this](const boost::system::error_code& ec, stream_protocol::socket s) {
                if (stopping || ec == boost::asio::error::operation_aborted) return;
                if (ec) {
                    log.warning(
                        concat(protocol_name(options.protocol), ": accept failed: ", ec.message()));
                    // EMFILE and friends: try again shortly instead of spinning.
                    retry_timer.expires_after(std::chrono::milliseconds(100));
                    retry_timer.async_wait([this](const boost::system::error_code& e) {
                        if (!e) accept();
                    });
                    return;
                }
                admit(std::move(s));
                accept();
            });
    }

    void admit(stream_protocol::socket s)
    {
        if (active.load() >= options.max_connections) {
            log.warning(concat(protocol_name(options.protocol),
                               ": connection refused: --max-connections (", options.max_connections,
                               ") reached"));
            return; // closed by the socket's destructor
        }
        bool tcp = s.local_endpoint().protocol().family() != AF_UNIX;
        int fd = s.release();
        // Served with blocking reads and writes (poll bounds the waits) on a worker.
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (tcp) {
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        ++active;
        boost::asio::post(workers, [this, fd] {
            bool counted = stream::serve_connection(fd, context);
            ::close(fd);
            --active;
            if (counted) count_request();
        });
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

    void begin_stop()
    {
        if (stopping) return;
        stopping = true;
        boost::system::error_code ignored;
        acceptor->close(ignored);
        signals.cancel(ignored);
        retry_timer.cancel();
        // run() returns once the io context has no work; the pool is joined there,
        // so the connections in flight end first (their waits are bounded by
        // --header-timeout and --io-timeout).
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
    return net::describe_local(impl_->listen_fd);
}

void StreamServer::run()
{
    auto& d = *impl_;
    // A web server that hangs up must show up as EPIPE on a write.
    ::signal(SIGPIPE, SIG_IGN);
    if (d.options.handle_signals) {
        d.signals.add(SIGTERM);
        d.signals.add(SIGINT);
        d.signals.add(SIGUSR1);
        d.signals.async_wait([&d](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            d.log.info(concat(protocol_name(d.options.protocol), ": signal ", sig,
                              ": finishing connections in flight, then exiting"));
            d.begin_stop();
        });
    }
    d.log.info(concat(protocol_name(d.options.protocol), ": serving on ", local_endpoint(),
                      " with ", d.options.threads, " thread(s)"));
    d.accept();
    d.io.run();
    d.workers.join();
}

void StreamServer::stop()
{
    boost::asio::post(impl_->io, [d = impl_.get()] { d->begin_stop(); });
}

} // namespace wsgibridge
