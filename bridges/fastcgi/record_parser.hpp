// Sans-I/O FastCGI record decoder: bytes in, whole records out. It never touches a
// socket; the connection feeds it whatever each read returned (one byte or many
// records) and takes records out until it says need_more.
#pragma once

#include "protocol.hpp"
#include "wsgibridge/error.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace wsgibridge::fastcgi {

struct Record
{
    std::uint8_t type = 0; ///< raw: unknown types must be answered, not rejected
    std::uint16_t request_id = 0;
    /// The content, without padding. Points into the input given to next() when the
    /// record arrived whole, else into the parser's own buffer; valid until the next
    /// call to next().
    std::span<const char> content;

    RecordType record_type() const noexcept { return static_cast<RecordType>(type); }
};

class RecordParser
{
public:
    RecordParser();

    /// Takes bytes from the front of `input` (advancing it) and returns the next whole
    /// record, or errc::need_more once `input` is used up without completing one (the
    /// partial bytes are kept), or errc::unsupported_version for a version other than 1
    /// (the connection must be closed: nothing after it can be trusted).
    Result<Record> next(std::span<const char>& input);

    /// True when no partial record is held (a clean place for the peer to close).
    bool at_boundary() const noexcept { return header_have_ == 0 && padding_left_ == 0; }

private:
    std::array<char, header_size> header_{};
    std::size_t header_have_ = 0;
    std::vector<char> content_; ///< a record's content split across inputs
    std::size_t content_want_ = 0;
    std::size_t padding_left_ = 0;
    std::size_t pending_padding_ = 0;
};

} // namespace wsgibridge::fastcgi
