// Frames outgoing streams into records as an iovec list, without copying the data:
// the head of a response and the first body chunk share a record, a 200 000-byte
// chunk becomes records of at most 65528 bytes, every record is padded to 8 bytes,
// and an empty piece never becomes an empty record (that would end the stream; an
// app's `yield b""` must not). The caller hands iov() to one writev.
#pragma once

#include "protocol.hpp"

#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <forward_list>
#include <span>
#include <sys/uio.h>

namespace wsgibridge::fastcgi {

class RecordWriter
{
public:
    explicit RecordWriter(std::uint16_t request_id = 0) noexcept : request_id_(request_id) {}
    /// The iovecs point into the writer itself.
    RecordWriter(const RecordWriter&) = delete;
    RecordWriter& operator=(const RecordWriter&) = delete;

    void reset(std::uint16_t request_id) noexcept;
    /// Appends `bytes` to the `type` stream, continuing the open record when it has room.
    void append(RecordType type, std::span<const char> bytes);
    /// The empty record that ends a stream (STDOUT, STDERR).
    void end_stream(RecordType type);
    void end_request(std::uint32_t app_status, ProtocolStatus status);
    /// A whole record with `content` (management answers; content ≤ 65535).
    void record(RecordType type, std::span<const char> content);

    bool empty() const noexcept { return iov_.empty(); }
    /// The records so far. Valid until the next change; the data views must live as long.
    std::span<iovec> iov();
    std::size_t size_bytes() const noexcept;

private:
    void seal() noexcept;
    RecordHeader& open_header(RecordType type);
    RecordHeader& new_header(const RecordHeader& h);

    // A response's records fit the writer itself (a hello answer is 3 headers, 1 end
    // body and 7 iovecs): no allocation per request. Past that, list nodes, which do not
    // move (iovecs point at them).
    static constexpr std::size_t inline_headers = 8;
    std::uint16_t request_id_;
    std::array<RecordHeader, inline_headers> headers_;
    std::size_t headers_used_ = 0;
    std::forward_list<RecordHeader> more_headers_;
    EndRequestBody end_body_;
    bool end_body_used_ = false;
    std::forward_list<EndRequestBody> more_end_bodies_;
    boost::container::small_vector<iovec, 16> iov_;
    RecordHeader* open_ = nullptr;
    std::size_t open_length_ = 0;
};

} // namespace wsgibridge::fastcgi
