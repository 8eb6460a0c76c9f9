// One HTTP/1.x connection.
//
// A new connection starts inline, on the io thread that accepted it: the client usually
// sent its request with the connection, so one non-waiting recv() finds the head, the
// request runs, and a client that asked for "Connection: close" is answered and closed
// without its socket ever being registered with the reactor (no epoll_ctl, no strand,
// no timer). Only a connection that must wait (a head still on its way, the next
// kept-alive request, a TLS handshake, a lingering close) is registered: from then on
// its handlers run through the reactor.
//
// Threading (why it is built this way): one thread runs the io_context while requests
// do not block, more (up to --threads) only while they do (net::IoRunners), so a
// registered connection's handlers run on its own strand when threads > 1. Waiting for a
// request head is asynchronous with a deadline (header timeout; keep-alive idle timeout
// before the first byte), so slow or idle clients hold no thread: a slowloris costs a
// socket and a few KiB, not a worker. Once a head is complete, the session calls
// RequestHandler::handle() synchronously on the io thread that parsed it. The body and
// the response then use blocking poll()-based reads and writes on the non-blocking fd
// (fd_io.hpp): the WSGI application expects a blocking wsgi.input and write(), the
// invoker releases the GIL around them, and a request costs no io_context round trips.
// Afterwards the unread body is drained (bounded) and the session goes back to async
// reading; bytes already buffered are the next pipelined request. Internal.
#pragma once

#include "http/chunk_guard.hpp"
#include "http/head_rules.hpp"
#include "http/request_from_beast.hpp"
#include "http/static_files.hpp"
#include "http/tls.hpp"
#include "model/forwarded.hpp"
#include "net/io_runners.hpp"
#include "wsgibridge/handler.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/unique_fd.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace wsgibridge::http {

class Session;

/// A connection's buffers. When it closes they go to ServerContext::spare for the next
/// connection: a new connection then allocates only its Session.
struct SessionMemory
{
    static constexpr std::size_t arena_bytes = 8 * 1024;
    Arena arena{arena_bytes};
    boost::beast::flat_buffer buffer;
    Request req;
    std::string path_buf, head_buf;
};

/// What every connection of one server shares. Outlives all sessions.
struct ServerContext
{
    RequestHandler& handler;
    const Logger& log;
    const AccessLog& access_log;
    Limits limits;
    std::string mount;
    std::string server_software;
    std::atomic<bool> stopping{false};

    /// Registered sessions (those that wait in the reactor), so stop() can wake the idle
    /// ones: an intrusive list (linking allocates nothing), guarded by `mutex`. A session
    /// served inline is on no list: it sees `stopping` itself.
    std::mutex mutex;
    Session* sessions = nullptr;

    TrustedProxies proxies;                          ///< --forwarded-allow-ips
    std::unique_ptr<const StaticFiles> static_files; ///< --static-map, or null
    std::unique_ptr<const TlsContext> tls;           ///< --certfile, or null (plain HTTP)
    /// The server's io threads: a request marks its thread busy (null: not counted).
    net::IoRunners* runners = nullptr;
    /// Where a session registers its socket when it must wait.
    boost::asio::io_context* ioc = nullptr;
    int family = AF_INET; ///< the listener's address family (of every connection)
    /// Buffers of closed connections, at most max_spare (under `mutex`).
    std::vector<std::unique_ptr<SessionMemory>> spare;
    static constexpr std::size_t max_spare = 64;
    /// Strands of closed connections (threads > 1), for the next ones: creating a strand
    /// costs a lock and an allocation (under `mutex`, at most max_spare).
    std::vector<boost::asio::any_io_executor> spare_strands;
    /// The listener's address when every connection shares it (not a wildcard bind).
    std::optional<ConnectionInfo> shared_local;
};

class Session : public std::enable_shared_from_this<Session>
{
public:
    using Socket = boost::asio::generic::stream_protocol::socket;

    /// `fd`: a connected, non-blocking socket, owned from now on. `peer`: the client's
    /// address from accept(), if known (else getpeername()).
    Session(UniqueFd fd, ServerContext& context, const sockaddr_storage* peer = nullptr);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Reads and serves the first request inline (on the calling io thread) if it is
    /// already here; registers the connection with the reactor only if it must wait.
    void start();
    /// Server stopping (registered sessions): a busy connection closes after its
    /// response; an idle kept-alive one gets a short drain window in which a request
    /// already on its way is still answered (with Connection: close), then closes.
    void on_stop();
    /// The executor of a registered session (its strand when threads > 1).
    const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
    /// Registered with the reactor (for tests and stop()).
    bool registered() const noexcept { return socket_.has_value(); }
    /// The next live session in ServerContext::sessions (under its mutex).
    Session* next_session() const noexcept { return next_; }

private:
    void read_next();
    void wait_next(); ///< keep-alive: the idle wait for the next request's first bytes
    void read_head();
    void wait_head(); ///< the rest of a head, under the header timeout
    /// Registers the socket and its timer with the reactor (on a strand when threads > 1),
    /// links the session into ServerContext::sessions, then runs `then` on its executor.
    void register_then(void (Session::*then)());
    void on_head(boost::beast::error_code ec);
    void serve();
    bool exchange(); ///< one request and its response; true: the connection may go on
    bool trusted_proxy();
    void reject(std::error_code reason, std::string_view detail);
    void finish_exchange(bool keep_alive);

    void arm(std::chrono::milliseconds timeout);
    void disarm();
    void wait_until(std::chrono::steady_clock::time_point when);
    void linger_close();
    void linger_start();
    void linger_read();
    void close();

    // TLS (--certfile): the handshake, bounded by the header timeout, before the first
    // head; the async reads of heads go through TlsConnection when it is on.
    void handshake();
    void on_handshake(boost::system::error_code ec);
    template <class Handler>
    void async_read(boost::asio::mutable_buffer buf, Handler&& handler)
    {
        if (tls_)
            tls_->async_read_some(*socket_, buf,
                                  TlsConnection::ReadHandler(std::forward<Handler>(handler)));
        else
            socket_->async_read_some(buf, std::forward<Handler>(handler));
    }

    ServerContext& ctx_;
    UniqueFd owned_fd_; ///< the socket until it is registered (then socket_ owns it)
    int fd_;
    /// Set by register_then(): the socket in the reactor, its timer, and the executor
    /// both run their handlers on.
    boost::asio::any_io_executor executor_;
    std::optional<Socket> socket_;
    std::optional<boost::asio::steady_timer> timer_;
    ConnectionInfo info_;
    std::string peer_; ///< "addr:port" for log lines
    /// The peer's proxy headers count (--forwarded-allow-ips); known once asked.
    std::optional<bool> trusted_proxy_;
    ForwardedStorage forwarded_;
    std::optional<TlsConnection> tls_;

    std::unique_ptr<SessionMemory> memory_; ///< the references below point into it
    Arena& arena_;
    boost::beast::flat_buffer& buffer_;
    Request& req_;
    std::string& path_buf_;
    std::string& head_buf_;
    std::optional<RequestParser> parser_;
    ChunkGuard chunks_;
    Refusal raw_refusal_; ///< what the raw bytes of the current head broke

    unsigned generation_ = 0; ///< invalidates timer callbacks of earlier waits
    bool timed_out_ = false;
    bool head_armed_ = false; ///< the header timeout runs for the current head
    bool wants_more_ = false; ///< precheck_chunked left the parser waiting for bytes
    bool in_mount_ = false;   ///< req_ (built from the head) lies under --mount
    bool waiting_ = false;    ///< an async read is pending (stop may cancel it)
    bool idle_ = false;       ///< that read waits for the next kept-alive request
    bool closed_ = false;
    bool armed_ = false;  ///< timer_ has a wait pending (it may end before deadline_)
    bool timing_ = false; ///< deadline_ applies (arm() until disarm())
    std::chrono::steady_clock::time_point deadline_{};
    bool tried_read_ = false; ///< the first head was read for at once (read_head())
    Session* prev_ = nullptr; ///< ServerContext::sessions links
    Session* next_ = nullptr;
    std::uint64_t requests_ = 0;
    unsigned depth_ = 0; ///< requests served on the current stack (pipelined ones nest)
    std::size_t lingered_ = 0;
};

} // namespace wsgibridge::http
