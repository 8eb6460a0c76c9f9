// One connection from the web server. Its reader runs on the io thread (asynchronous
// reads, no thread per idle connection) and turns records into request state; each
// request then runs on a worker thread, so several requests of one connection
// (multiplexing) are served at once. Writes from workers and from the reader are
// serialized by a mutex; each is a blocking writev with poll() and --io-timeout.
// A connection starts as a bare non-blocking fd whose first read the server already
// made: when that read held whole requests that end the connection (nginx's default,
// no FCGI_KEEP_CONN) they are served and the fd closed without the connection ever
// joining the io_context's epoll set or owning a read buffer.
#pragma once

#include "record_parser.hpp"
#include "request_state.hpp"
#include "server_context.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/flat_map.hpp>
#include <boost/container/small_vector.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace wsgibridge::fastcgi {

class Connection : public std::enable_shared_from_this<Connection>
{
public:
    using Socket = boost::asio::generic::stream_protocol::socket;

    /// Takes `fd` (a connected, non-blocking, close-on-exec socket of address `family`).
    Connection(int fd, int family, ServerContext& context);
    ~Connection();

    // io thread
    /// Handles the bytes of the server's first read (in context.io_buffer; empty: none
    /// were waiting), then reads asynchronously unless the connection already ended.
    void start(std::size_t first_read);
    bool closed() const noexcept { return closed_; }
    /// Server stopping: no new requests; close once the ones in flight ended.
    void stop_gracefully();
    /// The grace period is over: fail what is in flight and close.
    void force_close();

    // any thread
    /// Writes `iov` for `state`: fails with peer_gone once the request ended or was
    /// aborted, or the connection broke. `ends_request` marks it ended (END_REQUEST in iov).
    std::error_code write(RequestState& state, std::span<iovec> iov, bool ends_request);
    /// sendfile(2) of `count` bytes re-framed into STDOUT records; returns bytes sent.
    Result<std::uint64_t> send_file(RequestState& state, int fd, std::uint64_t offset,
                                    std::uint64_t count);
    /// Only on the io thread while a request runs there (one worker thread): reads and
    /// handles records that arrived meanwhile, without blocking.
    void poll_while_inline();
    /// Shuts the socket down: writes fail from now on, the web server sees a close.
    void break_connection() noexcept;
    bool broken() const noexcept { return broken_; }
    const Logger& log() const noexcept { return context_.log; }

private:
    // reader (io thread), connection.cpp
    void read_more();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    /// Parses and handles the records in `in`, then starts the requests they completed.
    /// False when the connection must be closed (a protocol error).
    bool consume(std::span<const char> in);
    bool handle_record(const Record& rec);
    bool on_begin_request(const Record& rec);
    bool on_params(const std::shared_ptr<RequestState>& st, const Record& rec);
    bool on_stdin(RequestState& st, const Record& rec);
    void on_abort(const std::shared_ptr<RequestState>& st);
    void on_management(const Record& rec);
    void on_peer_closed();
    void reject(RequestState& st, std::error_code why, std::string_view detail);
    void dispatch(const std::shared_ptr<RequestState>& st);
    void watch_low_water(RequestState& st);
    std::shared_ptr<RequestState> new_state();
    /// Hands `st` back as the server's spare state when nothing else holds it.
    void recycle(std::shared_ptr<RequestState> st) noexcept;
    void start_pending();
    bool can_run_inline(const RequestState& st) const;
    void resume_reading();
    /// `read_whole`: the web server sent all a request without FCGI_KEEP_CONN may carry.
    void close_after_drain(bool read_whole = false);
    void close_now();
    void end_request_from_reader(std::uint16_t id, ProtocolStatus status);

    // worker side (or the io thread, inline), connection_io.cpp
    void run_request(const std::shared_ptr<RequestState>& st) noexcept;
    void on_request_done(const std::shared_ptr<RequestState>& st);
    std::error_code write_locked(std::span<iovec> iov);
    std::error_code wait_writable();

    ServerContext& context_;
    /// Made with the first asynchronous read (it joins the epoll set then); fd_ is ours
    /// to close until then. A connection served from its first read never has one: the
    /// socket and the drain timer cost a service lookup each (a mutex and a type-name
    /// compare) to make and a cancel to destroy, on every request behind nginx's default.
    std::optional<Socket> socket_;
    int fd_;
    int family_;
    RecordParser parser_;
    /// Read buffer, not zero-filled: a vector's 64 KiB of zeros cost more than twice
    /// what serving a hello request does, on every new connection. Allocated with the
    /// first asynchronous read; until then buffer_ is the io thread's shared one
    /// (context.io_buffer), free whenever no handler runs on the io thread.
    std::unique_ptr<char[]> storage_;
    std::span<char> buffer_;
    /// Flat, with room for a few ids inline: a connection usually carries one request
    /// at a time, and a map's node was an allocation per request.
    boost::container::small_flat_map<std::uint16_t, std::shared_ptr<RequestState>, 2> requests_;
    /// Ready, to start after this read.
    boost::container::small_vector<std::shared_ptr<RequestState>, 2> pending_;
    std::optional<boost::asio::steady_timer> drain_timer_;
    bool reading_ = false;
    bool paused_ = false;
    bool draining_ = false; ///< closing: reading only to discard until the peer closes
    bool stopping_ = false;
    bool closed_ = false;
    bool peer_closed_ = false;
    bool inline_running_ = false; ///< a request runs on the io thread right now
    std::uint64_t drained_ = 0;

    std::mutex write_mutex_;
    std::atomic<bool> broken_{false};
};

} // namespace wsgibridge::fastcgi
