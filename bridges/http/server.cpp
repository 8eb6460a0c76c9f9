// HttpServer: the listening socket and its accept loop, the io threads, signals and
// graceful stop. The per-connection work is in session.cpp.
#include "http/session.hpp"
#include "net/io_runners.hpp"
#include "net/listener.hpp"
#include "wsgibridge/http_server.hpp"

#include <atomic>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace wsgibridge {
namespace asio = boost::asio;
using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

namespace {

/// The acceptor on a socket bound here for `options.bind`, or on a duplicate of the
/// inherited `options.listen_fd` (which stays open for its owner, e.g. a pre-fork parent).
Acceptor make_acceptor(asio::io_context& ioc, const HttpServerOptions& options)
{
    util::UniqueFd fd;
    if (options.listen_fd >= 0) {
        fd.reset(::fcntl(options.listen_fd, F_DUPFD_CLOEXEC, 3));
        if (!fd) throw std::system_error(errno, std::generic_category(), "dup listening socket");
    } else {
        fd = net::open_listener(options.bind, options.socket_mode);
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        throw std::system_error(errno, std::generic_category(), "getsockname on the listener");
    Acceptor acceptor(ioc);
    acceptor.assign(asio::generic::stream_protocol(ss.ss_family, SOCK_STREAM), fd.get());
    fd.release(); // the acceptor's now
    // accept4() is called before any wait: it must say EAGAIN, not block.
    acceptor.non_blocking(true);
    return acceptor;
}

std::unique_ptr<const http::StaticFiles> make_static_files(const std::vector<std::string>& specs)
{
    if (specs.empty()) return nullptr;
    std::vector<http::StaticMapping> mappings;
    for (const auto& spec : specs)
        mappings.push_back(http::parse_static_map(spec));
    return std::make_unique<const http::StaticFiles>(mappings);
}

/// --certfile/--keyfile, loaded by every server (each worker after a reload reads the
/// files again), or from the contents the program read before (tls_pem).
std::unique_ptr<const http::TlsContext> make_tls(const HttpServerOptions& options)
{
    if (options.certfile.empty()) {
        if (!options.keyfile.empty())
            throw std::invalid_argument("--keyfile needs --certfile (the certificate chain)");
        return nullptr;
    }
    return std::make_unique<const http::TlsContext>(options.certfile, options.keyfile,
                                                    options.tls_pem ? &*options.tls_pem : nullptr);
}

} // namespace

struct HttpServer::Impl
{
    Impl(const HttpServerOptions& options, RequestHandler& handler, const Logger& log,
         const AccessLog& access_log)
        : options(options), context{handler,
                                    log,
                                    access_log,
                                    options.limits,
                                    options.mount,
                                    options.server_software,
                                    {},
                                    {},
                                    {},
                                    TrustedProxies(options.forwarded_allow_ips),
                                    make_static_files(options.static_map),
                                    make_tls(options),
                                    nullptr,
                                    nullptr,
                                    AF_INET,
                                    {},
                                    {},
                                    {}},
          // One thread runs the io_context unless requests block (IoRunners); with a
          // single thread for good, Asio takes its one-thread shortcuts (hint 1).
          ioc(options.threads <= 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
          acceptor(make_acceptor(ioc, options)), retry(ioc), signals(ioc),
          runners(ioc, options.threads, [this](std::string_view what) {
              context.log.error(concat("request failed: ", what));
          })
    {
        context.runners = &runners; // declared after the context: set here
        runners.on_wake([this] { take_over_accepting(); });
        context.ioc = &ioc;
        context.family = acceptor.local_endpoint().protocol().family();
        endpoint = net::describe_local(acceptor.native_handle());
        tcp = !endpoint.starts_with("unix:");
        // Bound to one address (or a unix socket), every connection's local address is the
        // listener's: no getsockname per connection.
        auto local = http::connection_info(acceptor.native_handle());
        local.remote_addr.clear();
        local.remote_port.clear();
        if (local.unix_socket || (local.local_addr != "0.0.0.0" && local.local_addr != "::"))
            context.shared_local = std::move(local);
        if (tcp) {
            // Responses go out in one writev; Nagle would only delay the next small one.
            // Set on the listener, Linux copies it to every accepted socket (no
            // setsockopt per connection).
            int one = 1;
            nodelay_inherited = ::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_NODELAY,
                                             &one, sizeof one) == 0;
            // Set on an inherited listener too: the option is read per connection.
            int defer = static_cast<int>(options.defer_accept.count());
            if (::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
                             sizeof defer) != 0)
                context.log.warning(concat("--defer-accept: setsockopt(TCP_DEFER_ACCEPT) on ",
                                           endpoint, ": ", std::strerror(errno)));
        }
        if (options.listen_fd < 0 && endpoint.starts_with("unix:"))
            socket_path = endpoint.substr(5);
    }

    ~Impl()
    {
        // In a forked child (a copy made before fork() going away), the io_context still
        // shares its epoll set with the parent: deregistering the acceptor there would
        // remove the parent's registration too, and the parent would wait for
        // connections forever. notify_fork gives the child its own set first.
        if (socket_owner != ::getpid()) ioc.notify_fork(boost::asio::execution_context::fork_child);
        // Strands belong to the io_context's strand service: they go before it does.
        {
            std::lock_guard lock(context.mutex);
            context.spare_strands.clear();
        }
        remove_socket_file(); // stop() did, unless the server never ran
    }

    // A socket file we created is ours: leave no stale file for the next start to trip
    // on. An inherited socket's file belongs to whoever bound it (other workers still
    // serve it), and so does the file of a socket bound before a fork(): the child's copy
    // of this object must not remove the parent's file. Called while the socket still
    // listens (close_listener(), as the stopping accept loop ends): until then nobody
    // else can bind the path (a new server finds it answering, not stale), so the file
    // removed is never another server's that replaced ours.
    void remove_socket_file() noexcept
    {
        if (!socket_path.empty() && socket_owner == ::getpid()) ::unlink(socket_path.c_str());
        socket_path.clear();
    }

    void accept_some();
    void take_over_accepting();
    void wait_for_connection();
    void accept_failed(int error);
    void close_listener();
    void close_listener_locked(); ///< the same, with listener_mutex held
    void serve(UniqueFd fd, const sockaddr_storage& from);
    void stop();

    HttpServerOptions options;
    // Before the io_context: handlers the io_context destroys unrun still hold sessions,
    // and a session unregisters from the context when it dies.
    http::ServerContext context;
    asio::io_context ioc;
    Acceptor acceptor;
    asio::steady_timer retry; ///< backs off accepting after EMFILE and friends
    /// Between the accept loop starting a wait (or closing the listener) and stop()
    /// cancelling that wait: see accept_some().
    std::mutex listener_mutex;
    /// Connections accepted per turn before other ready handlers get theirs.
    static constexpr int accept_batch = 8;
    /// Non-zero while the accept loop waits for a request running inline on a busy
    /// thread (the ticket of that loan); a woken thread that swaps it to zero takes the
    /// loop over.
    std::atomic<std::uint64_t> lent{0};
    std::uint64_t lend_count = 0; ///< only the accept loop touches it
    /// Accept failures are reported once per interval (accepts run one at a time).
    static constexpr std::chrono::seconds accept_log_interval{10};
    std::chrono::steady_clock::time_point last_accept_log{};
    std::uint64_t accept_failures = 0;
    bool accept_failing = false;
    asio::signal_set signals;
    net::IoRunners runners;
    std::string endpoint;
    bool tcp = false;                ///< not a unix socket
    bool nodelay_inherited = false;  ///< TCP_NODELAY set on the listener
    std::string socket_path;         ///< unix socket file to remove on shutdown (bound here)
    pid_t socket_owner = ::getpid(); ///< the process that bound it
};

// The accept loop is one chain: at any time exactly one of a call of accept_some(), a
// wait for the listener to become readable, or the retry timer is pending, so the
// listener is used by one thread at a time. Only the chain closes it; stop() merely
// cancels the wait (under listener_mutex, so a wait starting concurrently is either
// seen cancelled or sees `stopping` first).
//
// accept4() makes the socket non-blocking and close-on-exec in the same call. The
// session then reads the request at once: a client usually sends it with the
// connection, and a request answered inline with "Connection: close" leaves without its
// socket ever entering the reactor (bridges/stream/acceptor.cpp does the same).
void HttpServer::Impl::accept_some()
{
    for (int i = 0; i < accept_batch; ++i) {
        if (context.stopping) return close_listener();
        sockaddr_storage from;
        from.ss_family = AF_UNSPEC;
        socklen_t len = sizeof from;
        int fd = ::accept4(acceptor.native_handle(), reinterpret_cast<sockaddr*>(&from), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                // The reactor reports readiness edges: only now, with the queue empty, is
                // waiting for the next one safe.
                return wait_for_connection();
            case EINTR:
            case ECONNABORTED: // the client left while queued
            case EPROTO:
                continue;
            default:
                return accept_failed(errno);
            }
        }
        UniqueFd conn(fd);
        if (accept_failing) {
            accept_failing = false;
            context.log.info(concat("accept on ", endpoint, " works again"));
        }
        if (tcp && !nodelay_inherited) {
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (runners.max_threads() == 1) {
            serve(std::move(conn), from); // one thread: nobody else could accept meanwhile
            continue;
        }
        // Several threads: the request may block, and accepting must then go on elsewhere.
        // The loop is lent to the request: a thread the watchdog wakes meanwhile takes it
        // over (take_over_accepting()). A thread already running the io_context would
        // not be woken: with more than this one running, the loop is posted to them.
        std::uint64_t ticket = ++lend_count;
        lent.store(ticket);
        if (runners.running() > 1) {
            if (std::uint64_t mine = ticket; lent.compare_exchange_strong(mine, 0))
                asio::post(ioc, [this] { accept_some(); });
            return serve(std::move(conn), from);
        }
        serve(std::move(conn), from);
        // Taken over by a woken thread: the loop runs there now.
        if (std::uint64_t mine = ticket; !lent.compare_exchange_strong(mine, 0)) return;
    }
    // A full batch: the other ready handlers (kept-alive connections, timers, a stop) go
    // before the next one.
    asio::post(ioc, [this] { accept_some(); });
}

void HttpServer::Impl::take_over_accepting()
{
    if (lent.exchange(0) != 0) asio::post(ioc, [this] { accept_some(); });
}

void HttpServer::Impl::wait_for_connection()
{
    std::lock_guard lock(listener_mutex);
    if (context.stopping) return close_listener_locked();
    acceptor.async_wait(Acceptor::wait_read, [this](boost::system::error_code) {
        // Cancelled by stop(), or a connection (or an error accept4 reports) is ready.
        accept_some();
    });
}

void HttpServer::Impl::accept_failed(int error)
{
    // Out of descriptors or memory: the pending connection stays in the backlog;
    // spinning on it would burn the CPU the in-flight requests need, and a line per
    // retry would flood the log. Connections in the backlog are accepted as soon as
    // descriptors free up (a retry every 100 ms); one line per interval says so.
    ++accept_failures;
    accept_failing = true;
    auto now = std::chrono::steady_clock::now();
    if (now - last_accept_log >= accept_log_interval) {
        context.log.error(concat("accept on ", endpoint, " failed: ", std::strerror(error), " (",
                                 accept_failures,
                                 " times since the last report); retrying every 100 ms, "
                                 "new connections wait in the backlog"));
        last_accept_log = now;
        accept_failures = 0;
    }
    std::lock_guard lock(listener_mutex);
    if (context.stopping) return close_listener_locked();
    retry.expires_after(std::chrono::milliseconds(100));
    retry.async_wait([this](boost::system::error_code) { accept_some(); });
}

void HttpServer::Impl::close_listener()
{
    std::lock_guard lock(listener_mutex);
    close_listener_locked();
}

void HttpServer::Impl::close_listener_locked()
{
    boost::system::error_code ignored;
    remove_socket_file(); // while it still listens: see remove_socket_file()
    acceptor.close(ignored);
}

void HttpServer::Impl::serve(UniqueFd fd, const sockaddr_storage& from)
{
    try {
        std::make_shared<http::Session>(std::move(fd), context, &from)->start();
    } catch (const std::exception& e) {
        // One connection's failure (out of memory building a head) must not end the
        // accept loop; its session is gone with the stack that threw.
        context.log.error(concat("request failed: ", e.what()));
    }
}

void HttpServer::Impl::stop()
{
    if (context.stopping.exchange(true)) return;
    asio::post(ioc, [this] {
        {
            // The accept loop, woken, sees `stopping` and closes the listener.
            std::lock_guard lock(listener_mutex);
            boost::system::error_code ignored;
            if (acceptor.is_open()) acceptor.cancel(ignored);
            retry.cancel();
        }
        signals.cancel();
    });
    std::vector<std::shared_ptr<http::Session>> live;
    {
        std::lock_guard lock(context.mutex);
        for (auto* s = context.sessions; s; s = s->next_session())
            if (auto p = s->weak_from_this().lock()) live.push_back(std::move(p));
    }
    // Each session's stop runs on its own strand: after the request it may be serving.
    // (Sessions served inline are on no list: they see `stopping` after their request.)
    for (auto& s : live)
        asio::post(s->executor(), [s] { s->on_stop(); });
}

HttpServer::HttpServer(const HttpServerOptions& options, RequestHandler& handler, const Logger& log,
                       const AccessLog& access_log)
    : impl_(std::make_unique<Impl>(options, handler, log, access_log))
{
    // A client that resets the connection must cost an EPIPE, not the process
    // (sendfile has no MSG_NOSIGNAL).
    ::signal(SIGPIPE, SIG_IGN);
}

HttpServer::~HttpServer() = default;

std::string HttpServer::local_endpoint() const
{
    return impl_->endpoint;
}

void HttpServer::run()
{
    auto& impl = *impl_;
    if (impl.options.handle_signals) {
        impl.signals.add(SIGTERM);
        impl.signals.add(SIGINT);
        impl.signals.async_wait([&impl](boost::system::error_code ec, int sig) {
            if (ec) return;
            impl.context.log.info(
                concat("signal ", sig, ": finishing in-flight requests, then exiting"));
            impl.stop();
        });
    }
    // On an io thread: a connection already queued is served inline, as any other.
    asio::post(impl.ioc, [&impl] { impl.accept_some(); });
    impl.runners.run();
}

void HttpServer::stop()
{
    impl_->stop();
}

} // namespace wsgibridge
