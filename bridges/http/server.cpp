// HttpServer: the listening socket, the io threads, signals and graceful stop. The
// per-connection work is in session.cpp.
#include "http/session.hpp"
#include "net/io_runners.hpp"
#include "net/listener.hpp"
#include "wsgibridge/http_server.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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
        : options(options),
          context{handler, log, access_log, options.limits, options.mount, options.server_software,
                  {},      {},  {},  TrustedProxies(options.forwarded_allow_ips),
                  make_static_files(options.static_map), make_tls(options), nullptr, {}, {}, {}},
          // One thread runs the io_context unless requests block (IoRunners); with a
          // single thread for good, Asio takes its one-thread shortcuts (hint 1).
          ioc(options.threads <= 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
          acceptor(make_acceptor(ioc, options)), retry(ioc), signals(ioc),
          runners(ioc, options.threads, [this](std::string_view what) {
              context.log.error(concat("request failed: ", what));
          })
    {
        context.runners = &runners; // declared after the context: set here
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
        }
        if (options.listen_fd < 0 && endpoint.starts_with("unix:"))
            socket_path = endpoint.substr(5);
    }

    ~Impl()
    {
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
    // listens (stop(), before closing it): until then nobody else can bind the path (a
    // new server finds it answering, not stale), so the file removed is never another
    // server's that replaced ours.
    void remove_socket_file() noexcept
    {
        if (!socket_path.empty() && socket_owner == ::getpid()) ::unlink(socket_path.c_str());
        socket_path.clear();
    }

    void accept();
    void on_accept(boost::system::error_code ec, http::Session::Socket socket);
    void stop();

    HttpServerOptions options;
    // Before the io_context: handlers the io_context destroys unrun still hold sessions,
    // and a session unregisters from the context when it dies.
    http::ServerContext context;
    asio::io_context ioc;
    Acceptor acceptor;
    asio::steady_timer retry; ///< backs off accepting after EMFILE and friends
    /// The client's address, filled by the one accept pending at a time.
    asio::generic::stream_protocol::endpoint peer;
    /// Accept failures are reported once per interval (accepts run one at a time).
    static constexpr std::chrono::seconds accept_log_interval{10};
    std::chrono::steady_clock::time_point last_accept_log{};
    std::uint64_t accept_failures = 0;
    bool accept_failing = false;
    asio::signal_set signals;
    net::IoRunners runners;
    std::string endpoint;
    bool tcp = false;               ///< not a unix socket
    bool nodelay_inherited = false; ///< TCP_NODELAY set on the listener
    std::string socket_path; ///< unix socket file to remove on shutdown (bound here)
    pid_t socket_owner = ::getpid(); ///< the process that bound it
};

void HttpServer::Impl::accept()
{
    auto done = [this](boost::system::error_code ec, http::Session::Socket socket) {
        on_accept(ec, std::move(socket));
    };
    // A strand per connection only when more than one thread may run its handlers.
    if (runners.max_threads() == 1)
        return acceptor.async_accept(asio::any_io_executor(ioc.get_executor()), peer,
                                     std::move(done));
    asio::any_io_executor strand;
    {
        std::lock_guard lock(context.mutex);
        if (!context.spare_strands.empty()) {
            strand = std::move(context.spare_strands.back());
            context.spare_strands.pop_back();
        }
    }
    if (!strand) strand = asio::make_strand(ioc);
    acceptor.async_accept(strand, peer, std::move(done));
}

void HttpServer::Impl::on_accept(boost::system::error_code ec, http::Session::Socket socket)
{
    if (ec == asio::error::operation_aborted || context.stopping) return;
    if (ec) {
        // Out of descriptors or memory: the pending connection stays in the backlog;
        // spinning on it would burn the CPU the in-flight requests need, and a line per
        // retry would flood the log. Connections in the backlog are accepted as soon as
        // descriptors free up (a retry every 100 ms); one line per interval says so.
        ++accept_failures;
        accept_failing = true;
        auto now = std::chrono::steady_clock::now();
        if (now - last_accept_log >= accept_log_interval) {
            context.log.error(concat("accept on ", endpoint, " failed: ", ec.message(), " (",
                                     accept_failures,
                                     " times since the last report); retrying every 100 ms, "
                                     "new connections wait in the backlog"));
            last_accept_log = now;
            accept_failures = 0;
        }
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](boost::system::error_code e) {
            if (!e) accept();
        });
        return;
    }
    if (accept_failing) {
        accept_failing = false;
        context.log.info(concat("accept on ", endpoint, " works again"));
    }
    if (tcp && !nodelay_inherited) {
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    // The client's address as accept() returned it (no getpeername per connection),
    // copied before the next accept may overwrite it.
    sockaddr_storage from{};
    std::memcpy(&from, peer.data(), std::min<std::size_t>(peer.size(), sizeof from));
    // The next accept is pending before this connection's request may run inline (and
    // block): the thread that takes over the io_context then accepts meanwhile.
    accept();
    std::make_shared<http::Session>(std::move(socket), context, &from)->start();
}

void HttpServer::Impl::stop()
{
    if (context.stopping.exchange(true)) return;
    asio::post(ioc, [this] {
        boost::system::error_code ignored;
        remove_socket_file();
        acceptor.close(ignored);
        retry.cancel();
        signals.cancel();
    });
    std::vector<std::shared_ptr<http::Session>> live;
    {
        std::lock_guard lock(context.mutex);
        for (auto* s = context.sessions; s; s = s->next_session())
            if (auto p = s->weak_from_this().lock()) live.push_back(std::move(p));
    }
    // Each session's stop runs on its own strand: after the request it may be serving.
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
    impl.accept();
    impl.runners.run();
}

void HttpServer::stop()
{
    impl_->stop();
}

} // namespace wsgibridge
