// Frames outgoing streams into records as an iovec list, without copying the data:
// the head of a response and the first body chunk share a record, a 200 000-byte
// chunk becomes records of at most 65528 bytes, every record is padded to 8 bytes,
// and an empty piece never becomes an empty record (that would end the stream; an
// app's `yield b""` must not). The caller hands iov() to one writev.
#pragma once

#include "protocol.hpp"

#include <cstdint>
#include <deque>
#include <span>
#include <sys/uio.h>
#include <vector>

namespace wsgibridge::fastcgi {

class RecordWriter
{
public:
    explicit RecordWriter(std::uint16_t request_id = 0) noexcept : request_id_(request_id) {}

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

    std::uint16_t request_id_;
    std::deque<RecordHeader> headers_; ///< deque: iovecs point at them
    std::deque<EndRequestBody> end_bodies_;
    std::vector<iovec> iov_;
    RecordHeader* open_ = nullptr;
    std::size_t open_length_ = 0;
};

} // namespace wsgibridge::fastcgi
