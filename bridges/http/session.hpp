// One HTTP/1.x connection.
//
// Threading (why it is built this way): every io thread runs the one io_context, and a
// connection's handlers run on its own strand. Waiting for a request head is
// asynchronous with a deadline (header timeout; keep-alive idle timeout before the
// first byte), so slow or idle clients hold no thread: a slowloris costs a socket and
// a few KiB, not a worker. Once a head is complete, the session calls
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
#include "model/forwarded.hpp"
#include "wsgibridge/handler.hpp"
#include "wsgibridge/limits.hpp"
#include "wsgibridge/log.hpp"

#include <atomic>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace wsgibridge::http {

class Session;

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

    /// Live sessions, so stop() can wake the idle ones.
    std::mutex mutex;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

    TrustedProxies proxies; ///< --forwarded-allow-ips
    std::unique_ptr<const StaticFiles> static_files; ///< --static-map, or null
};

class Session : public std::enable_shared_from_this<Session>
{
public:
    using Socket = boost::asio::generic::stream_protocol::socket;

    Session(Socket socket, ServerContext& context);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Registers with the context and starts reading the first request.
    void start();
    /// Server stopping: a busy connection closes after its response; an idle kept-alive
    /// one gets a short drain window in which a request already on its way is still
    /// answered (with Connection: close), then closes.
    void on_stop();
    Socket::executor_type executor() { return socket_.get_executor(); }

private:
    void read_next();
    void read_head();
    void on_head(boost::beast::error_code ec);
    void serve();
    void reject(std::error_code reason, std::string_view detail);
    void finish_exchange(bool keep_alive);

    void arm(std::chrono::milliseconds timeout);
    void disarm();
    void linger_close();
    void linger_read();
    void close();

    Socket socket_;
    boost::asio::steady_timer timer_;
    ServerContext& ctx_;
    int fd_;
    ConnectionInfo info_;
    std::string peer_; ///< "addr:port" for log lines
    bool trusted_proxy_;     ///< the peer's proxy headers count (--forwarded-allow-ips)
    ForwardedStorage forwarded_;

    Arena arena_;
    std::optional<RequestParser> parser_;
    ChunkGuard chunks_;
    boost::beast::flat_buffer buffer_;
    Refusal raw_refusal_; ///< what the raw bytes of the current head broke
    Request req_;
    std::string path_buf_, head_buf_;

    unsigned generation_ = 0; ///< invalidates timer callbacks of earlier waits
    bool timed_out_ = false;
    bool head_armed_ = false; ///< the header timeout runs for the current head
    bool wants_more_ = false; ///< precheck_chunked left the parser waiting for bytes
    bool waiting_ = false; ///< an async read is pending (stop may cancel it)
    bool idle_ = false;    ///< that read waits for the next kept-alive request
    bool closed_ = false;
    std::uint64_t requests_ = 0;
    unsigned depth_ = 0; ///< nested on_head calls of pipelined requests
    std::size_t lingered_ = 0;
};

} // namespace wsgibridge::http
