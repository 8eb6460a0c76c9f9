#include "http/session.hpp"

#include "http/body_source.hpp"
#include "http/canned.hpp"
#include "http/response_sink.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <sys/socket.h>

namespace wsgibridge::http {
namespace asio = boost::asio;
namespace {

/// How long and how much a closing connection keeps reading so the client receives
/// our last response instead of a reset (Apache's lingering close).
constexpr std::chrono::milliseconds linger_time{2000};
/// On a graceful stop, how long an idle kept-alive connection waits for a request
/// its client may have sent before seeing our FIN (a loopback or LAN round trip).
constexpr std::chrono::milliseconds stop_drain_window{1000};
constexpr std::size_t linger_bytes = 1024 * 1024;
/// Pipelined requests served by direct calls before one goes through the io_context
/// (keeps the stack shallow against a client pipelining thousands of requests).
constexpr unsigned max_direct_depth = 8;
/// Room in the connection buffer beyond the head limit: one body read. Bounds what a
/// single unterminated line (a chunk size with endless extensions, a trailer) can make
/// the server hold; past it the parser fails with buffer_overflow, a 400.
constexpr std::size_t buffer_slack = 64 * 1024;

/// Beast's head-parsing errors in our vocabulary; end of stream and resets are not
/// refusals (nothing to answer) and give errc::peer_gone.
std::error_code classify(const boost::beast::error_code& ec) noexcept
{
    namespace e = bhttp;
    if (ec == e::error::header_limit) return make_error_code(errc::header_too_large);
    if (ec == e::error::buffer_overflow) return make_error_code(errc::header_too_large);
    if (ec == e::error::body_limit) return make_error_code(errc::body_too_large);
    if (ec == e::error::bad_content_length || ec == e::error::multiple_content_length ||
        ec == e::error::bad_transfer_encoding)
        return make_error_code(errc::bad_content_length);
    if (ec.category() == e::make_error_code(e::error::bad_method).category() &&
        ec != e::error::partial_message && ec != e::error::end_of_stream)
        return make_error_code(errc::bad_request);
    return make_error_code(errc::peer_gone);
}

/// A closed connection's buffers, or new ones.
std::unique_ptr<SessionMemory> take_memory(ServerContext& ctx)
{
    std::unique_ptr<SessionMemory> memory;
    {
        std::lock_guard lock(ctx.mutex);
        if (!ctx.spare.empty()) {
            memory = std::move(ctx.spare.back());
            ctx.spare.pop_back();
        }
    }
    if (!memory) memory = std::make_unique<SessionMemory>();
    return memory;
}

} // namespace

Session::Session(UniqueFd fd, ServerContext& context, const sockaddr_storage* peer)
    : ctx_(context), owned_fd_(std::move(fd)), fd_(owned_fd_.get()),
      info_(connection_info(fd_, context.shared_local ? &*context.shared_local : nullptr, peer)),
      memory_(take_memory(context)), arena_(memory_->arena), buffer_(memory_->buffer),
      req_(memory_->req), path_buf_(memory_->path_buf), head_buf_(memory_->head_buf)
{
    peer_ = info_.unix_socket ? "unix:" + info_.local_addr
                              : info_.remote_addr + ":" + info_.remote_port;
    req_.headers.reserve(32);
    if (ctx_.tls) tls_.emplace(*ctx_.tls, fd_);
}

Session::~Session()
{
    parser_.reset(); // gives its memory back to the arena before another session gets it
    buffer_.clear();
    std::lock_guard lock(ctx_.mutex);
    if (prev_)
        prev_->next_ = next_;
    else if (ctx_.sessions == this)
        ctx_.sessions = next_;
    if (next_) next_->prev_ = prev_;
    // Only buffers of a normal size are kept: a connection that grew one (a large head,
    // a long chunk line) gives it back to the allocator.
    if (ctx_.spare.size() < ServerContext::max_spare && buffer_.capacity() <= 64 * 1024 &&
        head_buf_.capacity() <= 64 * 1024 && path_buf_.capacity() <= 64 * 1024)
        ctx_.spare.push_back(std::move(memory_));
    // No handler of this session is left (each holds it): the strand serves the next one.
    // Not once stopping: a strand must not outlive the io_context (the server drops the
    // spare ones before it destroys its io_context).
    if (socket_ && ctx_.runners && ctx_.runners->max_threads() > 1 && !ctx_.stopping &&
        ctx_.spare_strands.size() < ServerContext::max_spare)
        ctx_.spare_strands.push_back(executor_);
}

void Session::start()
{
    // TLS: the handshake comes first, through OpenSSL and the reactor.
    if (tls_) return register_then(&Session::handshake);
    read_next();
}

void Session::register_then(void (Session::*then)())
{
    if (socket_) return (this->*then)();
    // A strand per connection only when more than one thread may run its handlers.
    if (ctx_.runners && ctx_.runners->max_threads() > 1) {
        {
            std::lock_guard lock(ctx_.mutex);
            if (!ctx_.spare_strands.empty()) {
                executor_ = std::move(ctx_.spare_strands.back());
                ctx_.spare_strands.pop_back();
            }
        }
        if (!executor_) executor_ = asio::make_strand(*ctx_.ioc);
    } else {
        executor_ = ctx_.ioc->get_executor();
    }
    boost::system::error_code ec;
    socket_.emplace(executor_);
    socket_->assign(asio::generic::stream_protocol(ctx_.family, SOCK_STREAM), fd_, ec);
    if (ec) {
        // The reactor could not take it (epoll_ctl failed: out of memory).
        socket_.reset();
        ctx_.log.error(concat("connection from ", peer_, ": cannot wait for it: ", ec.message()));
        return close();
    }
    owned_fd_.release(); // socket_'s now
    // Asio learns that the fd is non-blocking already (accept4 made it so): handle()
    // reads and writes it with poll() on EAGAIN.
    socket_->non_blocking(true, ec);
    timer_.emplace(executor_);
    {
        std::lock_guard lock(ctx_.mutex);
        next_ = ctx_.sessions;
        if (next_) next_->prev_ = this;
        ctx_.sessions = this;
    }
    // On the connection's strand from here on (runs at once: the strand is idle). The
    // caller returns right after: a handler of this session may run on another thread.
    asio::dispatch(executor_, [self = shared_from_this(), then] { (self.get()->*then)(); });
}

void Session::on_stop()
{
    if (idle_) {
        // The client may have sent its next request before our FIN can reach it: closing
        // at once would fail a request it may not retry (RFC 9112 9.3.1 lets clients retry
        // only idempotent ones). A request arriving within the window is answered with
        // Connection: close; a graceful reload under load then fails none.
        arm(stop_drain_window);
        return;
    }
    boost::system::error_code ignored;
    if (waiting_) socket_->cancel(ignored); // the pending read completes with operation_aborted
}

void Session::arm(std::chrono::milliseconds timeout)
{
    timed_out_ = false;
    timing_ = true;
    deadline_ = std::chrono::steady_clock::now() + timeout;
    // A wait already pending that ends no later than the new deadline serves: when it
    // fires, it waits again for the rest. A kept-alive connection so moves its idle
    // deadline per request without touching the timer queue (no cancel, no handler).
    if (armed_ && timer_->expiry() <= deadline_) return;
    wait_until(deadline_);
}

void Session::wait_until(std::chrono::steady_clock::time_point when)
{
    armed_ = true;
    timer_->expires_at(when); // a later wait pending ends with a stale generation
    timer_->async_wait(
        [self = shared_from_this(), gen = ++generation_](boost::system::error_code ec) {
            if (gen != self->generation_) return; // replaced by a later wait_until()
            self->armed_ = false;
            if (ec || !self->timing_) return;
            if (std::chrono::steady_clock::now() < self->deadline_)
                return self->wait_until(self->deadline_);
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->socket_->cancel(ignored);
        });
}

void Session::disarm()
{
    timing_ = false; // a wait still pending ends quietly when it fires
}

void Session::read_next()
{
    parser_.reset(); // frees the previous head: the arena starts over
    parser_.emplace(std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(ArenaAllocator<char>(arena_)));
    const auto limit = ctx_.limits.max_header_bytes;
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limit, UINT32_MAX)));
    parser_->body_limit(ctx_.limits.max_body_bytes);
    chunks_.reset();
    parser_->on_chunk_header(chunks_);
    raw_refusal_ = {};
    head_armed_ = false;
    buffer_.max_size(std::max<std::size_t>(limit, 4096) + buffer_slack);

    if (buffer_.size() > 0 || requests_ == 0) return read_head();
    register_then(&Session::wait_next);
}

void Session::wait_next()
{
    // Keep-alive: wait for the next bytes with the idle timeout, then give the rest of
    // the head the header timeout. An idle client is closed without a 408.
    waiting_ = true;
    idle_ = true;
    arm(ctx_.stopping ? stop_drain_window : ctx_.limits.idle_timeout);
    async_read(buffer_.prepare(4096),
               [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                   self->waiting_ = false;
                   self->idle_ = false;
                   self->buffer_.commit(n);
                   self->depth_ = 0;
                   if (ec || self->timed_out_) return self->close();
                   self->read_head(); // also while stopping: see on_stop()
               });
}

void Session::read_head()
{
    // Sans-I/O: the parser takes the head only once it is complete (Beast's put()
    // consumes nothing before), so the bytes it consumed are exactly the raw head, which
    // gets the checks Beast does not make (check_raw_head). The head usually arrives in
    // one segment or was pipelined, and then needs no timer and no trip through the
    // reactor. Recursion through serve() -> read_next() is bounded: past a few
    // pipelined requests the next one goes through the io_context.
    if (buffer_.size() > 0) {
        if (depth_ >= max_direct_depth) {
            auto next = [self = shared_from_this()] {
                self->depth_ = 0;
                self->read_head();
            };
            // Not registered yet: no other handler of this session exists, no strand needed.
            if (socket_)
                asio::post(executor_, std::move(next));
            else
                asio::post(*ctx_.ioc, std::move(next));
            return;
        }
        boost::beast::error_code ec;
        auto data = buffer_.data();
        std::size_t used = parser_->put(data, ec);
        if (ec != bhttp::error::need_more) {
            if (!ec) raw_refusal_ = check_raw_head({static_cast<const char*>(data.data()), used});
            buffer_.consume(used);
            // Counts the requests served on this stack since it began (each entry from
            // the reactor or a post resets it). Nothing may touch the session after
            // on_head(): it may have been registered and be running on another thread.
            ++depth_;
            return on_head(ec);
        }
        buffer_.consume(used);
    }
    if (!tls_ && requests_ == 0 && !head_armed_ && !tried_read_) {
        // A new connection: the client usually sent its request right after connecting,
        // and it is already here. Reading it now needs no timer and no trip through the
        // reactor; only if nothing has arrived yet does the wait below begin. (Under TLS
        // the handshake came first and the bytes go through OpenSSL: async_read.)
        tried_read_ = true;
        std::size_t room = std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size());
        if (room > 0) {
            auto space = buffer_.prepare(room);
            ssize_t n = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
            if (n > 0) {
                buffer_.commit(static_cast<std::size_t>(n));
                return read_head();
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return close(); // gone before sending anything: nothing to answer
        }
    }
    register_then(&Session::wait_head);
}

void Session::wait_head()
{
    if (!head_armed_) {
        head_armed_ = true;
        // A connection accepted just before a stop has sent nothing yet: it gets the drain
        // window like an idle kept-alive one (on_stop()).
        idle_ = requests_ == 0 && buffer_.size() == 0;
        arm(ctx_.stopping && idle_ ? stop_drain_window : ctx_.limits.header_timeout);
    }
    // Never past max_size: header_limit (below it) stops a head that keeps growing.
    std::size_t room = std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size());
    if (room == 0) return reject(make_error_code(errc::header_too_large), {});
    waiting_ = true;
    async_read(buffer_.prepare(room),
               [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                   self->waiting_ = false;
                   self->buffer_.commit(n);
                   self->depth_ = 0;
                   if (ec || self->timed_out_) return self->on_head(ec);
                   self->idle_ = false; // bytes of a head arrived: no longer an idle connection
                   self->read_head();   // also while stopping: see on_stop()
               });
}

void Session::on_head(boost::beast::error_code ec)
{
    waiting_ = false;
    idle_ = false;
    disarm();
    if (timed_out_) return reject(make_error_code(errc::timeout), {});
    if (ec == asio::error::operation_aborted || (ec && ctx_.stopping)) return close();
    if (ec == bhttp::error::header_limit) {
        // No end of the request line within the limit: the target is what is too long.
        auto data = buffer_.cdata();
        std::string_view start(static_cast<const char*>(data.data()), data.size());
        if (start.find('\n') == std::string_view::npos)
            return reject(make_error_code(errc::target_too_long), "request line");
    }
    if (ec) {
        auto reason = classify(ec);
        if (ec == bhttp::error::bad_version) {
            auto data = buffer_.cdata();
            std::string_view start(static_cast<const char*>(data.data()), data.size());
            if (well_formed_version(start)) reason = make_error_code(errc::unsupported_version);
        }
        if (reason == errc::peer_gone) return close();
        return reject(reason, ec.message());
    }
    if (raw_refusal_) return reject(raw_refusal_.code, raw_refusal_.why);
    if (auto reason = check_head(parser_->get(), ctx_.limits.max_header_count))
        return reject(reason, "Content-Length with Transfer-Encoding");
    if (auto r = validate_head(parser_->get(), ctx_.limits.max_target_bytes))
        return reject(r.code, r.why);
    // The request is taken from the head now: the chunked precheck below may parse a
    // last chunk and its trailer section, and Beast adds trailer fields to the same
    // field list. Trailer fields are not header fields (RFC 9110 section 6.5: a
    // recipient must not merge them into the header section), so a trailer "Host"
    // must not reach the application.
    in_mount_ = request_from_beast(parser_->get(), info_, ctx_.mount, path_buf_, req_);
    std::string detail;
    if (auto reason = precheck_chunked(*parser_, buffer_, detail, wants_more_)) {
        if (!chunks_.problem().empty()) detail = chunks_.problem();
        return reject(reason, detail);
    }
    serve();
}

bool Session::trusted_proxy()
{
    if (!trusted_proxy_)
        trusted_proxy_ = info_.unix_socket || ctx_.proxies.trusts(info_.remote_addr);
    return *trusted_proxy_;
}

void Session::serve()
{
    // Ends before finish_exchange(), which may serve the next pipelined request.
    bool keep = exchange();
    finish_exchange(keep);
}

bool Session::exchange()
{
    // From here to the response, the handler may block this thread: if it does, another
    // one takes over the io_context (IoRunners).
    net::IoRunners::Request busy(ctx_.runners);
    ++requests_;
    const auto& head = parser_->get();
    Exchange x;
    x.fd = fd_;
    x.ssl = tls_ ? tls_->get() : nullptr;
    x.limits = &ctx_.limits;
    x.log = &ctx_.log;
    x.parser = &*parser_;
    x.buffer = &buffer_;
    x.chunks = &chunks_;
    x.wants_more = wants_more_;
    x.peer = peer_;
    x.stopping = &ctx_.stopping;
    x.http10 = head.version() == 10;
    x.keep_alive = parser_->keep_alive() && !ctx_.stopping;
    x.expect_continue = expects_continue(head);

    HttpResponseSink sink(x, head_buf_, ctx_.server_software);
    HttpBodySource body(x);
    const bool in_mount = in_mount_; // req_ was built by on_head(), before any body byte
    if (tls_) {
        // As Apache and nginx tell CGI programs (and gunicorn the environ).
        req_.scheme = "https";
        req_.variables.add("HTTPS", "on");
    }
    // Whether the peer is a trusted proxy is asked only when it sends proxy headers
    // (parsing its address back costs every connection otherwise); the answer is kept.
    if (has_proxy_headers(req_.headers) && trusted_proxy())
        apply_forwarded(req_, ctx_.proxies, forwarded_,
                        [this](std::string_view m) { ctx_.log.warning(m); });
    if (is_server_options(head)) {
        // "OPTIONS *" asks about the server, not a resource (RFC 9110 section 9.3.7):
        // answered here, the application only ever sees paths.
        send_canned(sink, 200);
    } else if (ctx_.static_files && ctx_.static_files->serve(req_, sink, ctx_.log)) {
        // answered from --static-map, without the handler
    } else if (in_mount) {
        ctx_.handler.handle(req_, body, sink);
    } else {
        send_canned(sink, 404);
    }
    if (!x.head_sent && !sink.completed()) {
        // The handler ended without a response (or aborted before sending anything):
        // the client still gets one, and the body error it may have hit explains it.
        HttpResponseSink fallback(x, head_buf_, ctx_.server_software);
        x.must_close = true;
        send_canned(fallback, x.body_error ? http_status_for(x.body_error) : 500);
        ctx_.access_log.log(req_, fallback.status(), fallback.body_bytes());
    } else {
        ctx_.access_log.log(req_, sink.status(), sink.body_bytes());
    }
    return x.keep_alive && !x.must_close && !ctx_.stopping && body.drain();
}

void Session::finish_exchange(bool keep_alive)
{
    if (keep_alive) return read_next();
    // Lingering only matters when unread bytes would turn close() into a reset; the
    // usual "Connection: close" client has sent nothing more, and closing at once
    // saves a round of async operations per connection.
    // A client that said "close" (or spoke HTTP/1.0 without keep-alive) sends no further
    // request (RFC 9112 section 9.6): the kernel's queue is not worth a look then.
    char probe;
    bool client_closes = !parser_->keep_alive();
    bool unread = buffer_.size() > 0 || !parser_->is_done() ||
                  (tls_ && SSL_pending(tls_->get()) > 0) ||
                  (!client_closes && ::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0);
    if (unread) return linger_close();
    if (tls_) tls_->goodbye();
    ::shutdown(fd_, SHUT_RDWR);
    close();
}

void Session::reject(std::error_code reason, std::string_view detail)
{
    int code = http_status_for(reason);
    ctx_.log.warning(refusal_message(reason, peer_, ctx_.limits, detail));
    Exchange x;
    x.fd = fd_;
    x.ssl = tls_ ? tls_->get() : nullptr;
    x.limits = &ctx_.limits;
    x.log = &ctx_.log;
    x.peer = peer_;
    x.keep_alive = false; // after a malformed request the stream cannot be trusted
    HttpResponseSink sink(x, head_buf_, ctx_.server_software);
    send_canned(sink, code);
    // Refusals of a parsed head (431 for too many fields, 400, 501...) get an access
    // log line like any answered request.
    if (parser_ && parser_->is_header_done()) {
        (void)request_from_beast(parser_->get(), info_, ctx_.mount, path_buf_, req_);
        ctx_.access_log.log(req_, sink.status(), sink.body_bytes());
    }
    linger_close();
}

void Session::linger_close()
{
    if (tls_) tls_->goodbye();
    ::shutdown(fd_, SHUT_WR);
    lingered_ = 0;
    register_then(&Session::linger_start);
}

void Session::linger_start()
{
    arm(linger_time);
    linger_read();
}

void Session::linger_read()
{
    buffer_.clear();
    waiting_ = true;
    socket_->async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->waiting_ = false;
            self->lingered_ += n;
            if (ec || self->timed_out_ || self->lingered_ > linger_bytes) return self->close();
            self->linger_read();
        });
}

void Session::close()
{
    if (closed_) return;
    closed_ = true;
    disarm();
    if (tls_) tls_->goodbye();
    if (armed_) {
        // The pending wait holds the session: it must end now, not at its deadline.
        armed_ = false;
        ++generation_;
        timer_->cancel();
    }
    if (socket_) {
        boost::system::error_code ignored;
        socket_->close(ignored); // leaves the reactor too
    } else {
        owned_fd_.reset(); // never registered: a plain close()
    }
}

} // namespace wsgibridge::http
