// The reader half of a connection (io thread): records in, request state out.
#include "connection.hpp"

#include "model/refusal.hpp"
#include "params_codec.hpp"
#include "record_writer.hpp"
#include "request_from_params.hpp"

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgibridge::fastcgi {
namespace {
/// variables.find("FCGI_ROLE"), lengths first: HeaderList::find folds the case of
/// every variable's name (nginx's fastcgi_params leave ~8) to learn it is not there.
bool has_fcgi_role(const HeaderList& variables) noexcept
{
    constexpr std::string_view name = "FCGI_ROLE";
    for (const auto& v : variables)
        if (v.name.size() == name.size() && iequals(v.name, name)) return true;
    return false;
}
} // namespace

Connection::Connection(int fd, int family, ServerContext& context)
    : context_(context), fd_(fd), family_(family), buffer_(context.io_buffer)
{
}

Connection::~Connection()
{
    if (!socket_ || !socket_->is_open()) ::close(fd_);
}

void Connection::start(std::size_t first_read)
{
    if (first_read > 0 && !consume(buffer_.first(first_read))) return close_now();
    read_more();
}

void Connection::read_more()
{
    if (closed_ || reading_ || paused_) return;
    if (!socket_) {
        // The first wait for the web server: from now on this connection reads on its
        // own, into a buffer of its own (the shared one is the next connection's).
        boost::system::error_code ec;
        socket_.emplace(context_.io);
        socket_->assign(boost::asio::generic::stream_protocol(family_, SOCK_STREAM), fd_, ec);
        if (ec) {
            context_.log.warning(concat("FastCGI: cannot watch a connection: ", ec.message()));
            return close_now();
        }
        socket_->non_blocking(true, ec); // writes poll() themselves, with --io-timeout
        storage_ = std::make_unique_for_overwrite<char[]>(context_.io_buffer.size());
        buffer_ = {storage_.get(), context_.io_buffer.size()};
    }
    reading_ = true;
    socket_->async_read_some(boost::asio::buffer(buffer_.data(), buffer_.size()),
                             [self = shared_from_this()](const boost::system::error_code& ec,
                                                         std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const boost::system::error_code& ec, std::size_t n)
{
    reading_ = false;
    if (closed_) return;
    if (ec) {
        if (draining_) return close_now();
        return on_peer_closed();
    }
    if (draining_) {
        // Closing: discard what the web server still sends (bounded) so our close
        // does not reset the connection under the reply it has not read yet.
        drained_ += n;
        if (drained_ > context_.options.limits.max_drain_bytes) return close_now();
        return read_more();
    }
    if (!consume(buffer_.first(n))) return close_now();
    read_more();
}

bool Connection::consume(std::span<const char> in)
{
    while (!closed_ && !draining_) {
        auto rec = parser_.next(in);
        if (!rec) {
            if (rec.error() == errc::need_more) break;
            context_.log.warning(
                "FastCGI: record with a protocol version other than 1; closing the connection");
            return false;
        }
        if (!handle_record(*rec)) return false;
    }
    start_pending();
    return true;
}

bool Connection::handle_record(const Record& rec)
{
    if (rec.request_id == management_request_id) {
        on_management(rec);
        return true;
    }
    if (rec.record_type() == RecordType::begin_request) return on_begin_request(rec);
    auto it = requests_.find(rec.request_id);
    if (it == requests_.end()) return true; // inactive id: ignored (spec "Managing Request IDs")
    // By reference: PARAMS and STDIN leave requests_ as it is.
    const auto& st = it->second;
    switch (rec.record_type()) {
    case RecordType::params:
        return on_params(st, rec);
    case RecordType::stdin_stream:
        return on_stdin(*st, rec);
    case RecordType::abort_request:
        on_abort(std::shared_ptr<RequestState>(st)); // a copy: on_abort erases the entry
        return true;
    default:
        return true; // DATA (FILTER only) and unknown types on a live id: ignored
    }
}

bool Connection::on_begin_request(const Record& rec)
{
    if (rec.content.size() != sizeof(BeginRequestBody)) {
        context_.log.warning(concat("FastCGI: BEGIN_REQUEST with ", rec.content.size(),
                                    " content bytes instead of 8; closing the connection"));
        return false;
    }
    BeginRequestBody body;
    std::memcpy(&body, rec.content.data(), sizeof body);
    auto role = static_cast<Role>(body.role.value());
    bool keep_conn = (body.flags & flag_keep_conn) != 0;
    if (auto it = requests_.find(rec.request_id); it != requests_.end()) {
        // The worker wrote END_REQUEST but its "done" has not reached this thread yet:
        // the web server may rightly reuse the id already (nginx does, at once).
        bool ended;
        {
            std::lock_guard lock(write_mutex_);
            ended = it->second->ended;
        }
        if (ended) requests_.erase(it);
    }
    if (requests_.contains(rec.request_id)) {
        context_.log.warning(concat("FastCGI: BEGIN_REQUEST for request id ", rec.request_id,
                                    " which is already in flight; ignored"));
        return true;
    }
    if (role != Role::responder && role != Role::authorizer) {
        context_.log.info(concat("FastCGI: request ", rec.request_id, " asks for role ",
                                 body.role.value(), " (only RESPONDER and AUTHORIZER are served)"));
        end_request_from_reader(rec.request_id, ProtocolStatus::unknown_role);
        if (!keep_conn) close_after_drain();
        return true;
    }
    if (stopping_ || context_.requests_in_flight >= context_.options.max_requests_in_flight) {
        context_.log.warning(
            concat("FastCGI: request ", rec.request_id, " refused (",
                   stopping_ ? "server stopping" : "--max-requests-in-flight reached",
                   "): FCGI_OVERLOADED"));
        end_request_from_reader(rec.request_id, ProtocolStatus::overloaded);
        if (!keep_conn) close_after_drain();
        return true;
    }
    auto st = new_state();
    st->id = rec.request_id;
    st->role = role;
    st->keep_conn = keep_conn;
    requests_.emplace(rec.request_id, std::move(st));
    return true;
}

bool Connection::on_params(const std::shared_ptr<RequestState>& shared, const Record& rec)
{
    RequestState& st = *shared;
    if (st.params_done || st.rejected) return true; // extra PARAMS after the end or a 431: ignored
    const auto& limits = context_.options.limits;
    if (!rec.content.empty()) {
        if (st.params.size() + rec.content.size() > limits.max_header_bytes) {
            reject(st, errc::header_too_large, "FCGI_PARAMS");
            dispatch(shared);
            return true;
        }
        st.params.append(rec.content.data(), rec.content.size());
        return true;
    }
    st.params_done = true;
    ParamsOptions po{context_.options.mount, limits.max_header_count,
                     context_.options.promote_redirect_authorization, &context_.log};
    auto ec = request_from_params(st.params, st.scratch, po, st.request);
    if (ec == errc::protocol_error) {
        context_.log.warning(
            concat("FastCGI: request ", st.id,
                   ": truncated name-value pair in FCGI_PARAMS; closing the connection"));
        return false;
    }
    if (ec == errc::too_many_headers)
        reject(st, ec, "FCGI_PARAMS header fields");
    else if (ec)
        reject(st, ec, concat("bad FCGI_PARAMS: ", ec.message()));
    else if (st.request.content_length && *st.request.content_length > limits.max_body_bytes)
        reject(st, errc::body_too_large, concat("CONTENT_LENGTH ", *st.request.content_length));
    // An application serving both roles must know which one it plays: libfcgi puts
    // FCGI_ROLE in the environment itself; mod_authnz_fcgi sends it, nginx does not.
    if (!st.rejected && !has_fcgi_role(st.request.variables))
        st.request.variables.add("FCGI_ROLE",
                                 st.role == Role::authorizer ? "AUTHORIZER" : "RESPONDER");
    dispatch(shared);
    return true;
}

void Connection::reject(RequestState& st, std::error_code why, std::string_view detail)
{
    st.rejected = why;
    st.params_done = true;
    if (why == errc::header_too_large) {
        // The Request views would point at a truncated block: the log line and the
        // access log only get what is safe to show.
        st.request = Request{};
        st.request.method = "-";
    }
    context_.log.warning(
        refusal_message(concat("FastCGI request ", st.id), why, context_.options.limits, detail));
}

bool Connection::on_stdin(RequestState& st, const Record& rec)
{
    if (!st.body) {
        context_.log.warning(
            concat("FastCGI: request ", st.id,
                   ": FCGI_STDIN before the end of FCGI_PARAMS; closing the connection"));
        return false;
    }
    if (rec.content.empty()) {
        st.stdin_ended = true;
        st.body->end_of_stream();
        return true;
    }
    if (!st.low_water_watched) watch_low_water(st);
    if (st.body->push(rec.content)) paused_ = true; // resumed by the body's low-water callback
    return true;
}

void Connection::dispatch(const std::shared_ptr<RequestState>& st)
{
    const auto& limits = context_.options.limits;
    // FastCGI 1.0 §6.3: an Authorizer is sent no FCGI_STDIN (mod_authnz_fcgi sends none,
    // not even the empty record), so its body is empty and complete at once.
    std::optional<std::uint64_t> length = st->request.content_length;
    if (st->rejected)
        length = std::nullopt;
    else if (st->role == Role::authorizer)
        length = 0;
    st->body.emplace(length, limits.max_body_bytes, limits.io_timeout);
    st->dispatched = true;
    pending_.push_back(st);
}

void Connection::watch_low_water(RequestState& st)
{
    // Set with the first body bytes, not at dispatch: the callback (a std::function
    // holding a weak_ptr, so an allocation) only matters once bytes are queued, and a
    // GET never queues any. The consumer reads it only after push() paused the queue.
    st.low_water_watched = true;
    std::weak_ptr<Connection> weak = shared_from_this();
    st.body->set_on_low_water([weak, &io = context_.io] {
        boost::asio::post(io, [weak] {
            if (auto self = weak.lock()) self->resume_reading();
        });
    });
}

std::shared_ptr<RequestState> Connection::new_state()
{
    if (context_.spare_state) return std::move(context_.spare_state);
    return std::make_shared<RequestState>();
}

void Connection::recycle(std::shared_ptr<RequestState> st) noexcept
{
    // Only a state nobody else holds (no worker, no entry in requests_), and not one
    // whose buffers grew past the usual: one spare must not pin a 64 KiB PARAMS block.
    constexpr std::size_t keep_at_most = 16 * 1024;
    if (!st || st.use_count() != 1 || st->params.capacity() > keep_at_most ||
        st->scratch.capacity() > keep_at_most)
        return;
    st->reset();
    context_.spare_state = std::move(st);
}

void Connection::resume_reading()
{
    paused_ = false;
    read_more();
}

void Connection::on_abort(const std::shared_ptr<RequestState>& st)
{
    st->aborted = true;
    if (st->body) st->body->fail(errc::peer_gone);
    {
        std::lock_guard lock(write_mutex_);
        if (!st->ended) {
            st->ended = true;
            RecordWriter w(st->id);
            w.end_request(0, ProtocolStatus::request_complete);
            (void)write_locked(w.iov());
        }
    }
    // The id is free again at once; the worker, if any, finds its writes failing.
    requests_.erase(st->id);
    if (stopping_ && requests_.empty()) return close_now();
    if (!st->keep_conn) close_after_drain();
}

void Connection::on_management(const Record& rec)
{
    RecordWriter w(management_request_id);
    std::string answer;
    if (rec.record_type() == RecordType::get_values) {
        std::vector<char> copy(rec.content.begin(), rec.content.end());
        answer = get_values_result(copy, context_.figures);
        w.record(RecordType::get_values_result, answer);
    } else {
        answer = unknown_type_body(rec.type);
        w.record(RecordType::unknown_type, answer);
    }
    std::lock_guard lock(write_mutex_);
    (void)write_locked(w.iov());
}

void Connection::end_request_from_reader(std::uint16_t id, ProtocolStatus status)
{
    RecordWriter w(id);
    w.end_request(0, status);
    std::lock_guard lock(write_mutex_);
    (void)write_locked(w.iov());
}

} // namespace wsgibridge::fastcgi
