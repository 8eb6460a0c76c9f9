// FastCGI 1.0 wire constants and record layouts (the specification, section 8), as
// typed values: big-endian fields are Boost.Endian buffers, so no htons is scattered
// through the code and the structs can be copied to and from the wire as they are.
#pragma once

#include <boost/endian/buffers.hpp>
#include <cstddef>
#include <cstdint>

namespace wsgibridge::fastcgi {

inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t max_content_length = 65535;
/// The largest content we put in one record ourselves: a multiple of 8, so full
/// records need no padding.
inline constexpr std::size_t max_written_content = 65528;

enum class RecordType : std::uint8_t {
    begin_request = 1,
    abort_request = 2,
    end_request = 3,
    params = 4,
    stdin_stream = 5,
    stdout_stream = 6,
    stderr_stream = 7,
    data = 8,
    get_values = 9,
    get_values_result = 10,
    unknown_type = 11,
};

enum class Role : std::uint16_t {
    responder = 1,
    authorizer = 2,
    filter = 3,
};

enum class ProtocolStatus : std::uint8_t {
    request_complete = 0,
    cant_mpx_conn = 1,
    overloaded = 2,
    unknown_role = 3,
};

/// BEGIN_REQUEST flags: keep the connection open after this request.
inline constexpr std::uint8_t flag_keep_conn = 1;

struct RecordHeader
{
    std::uint8_t version;
    std::uint8_t type;
    boost::endian::big_uint16_buf_t request_id;
    boost::endian::big_uint16_buf_t content_length;
    std::uint8_t padding_length;
    std::uint8_t reserved;
};
static_assert(sizeof(RecordHeader) == header_size);

struct BeginRequestBody
{
    boost::endian::big_uint16_buf_t role;
    std::uint8_t flags;
    std::uint8_t reserved[5];
};
static_assert(sizeof(BeginRequestBody) == 8);

struct EndRequestBody
{
    boost::endian::big_uint32_buf_t app_status;
    std::uint8_t protocol_status;
    std::uint8_t reserved[3];
};
static_assert(sizeof(EndRequestBody) == 8);

struct UnknownTypeBody
{
    std::uint8_t type;
    std::uint8_t reserved[7];
};
static_assert(sizeof(UnknownTypeBody) == 8);

/// A header for a record of `type` carrying `content_length` bytes padded to 8.
inline RecordHeader make_header(RecordType type, std::uint16_t request_id,
                                std::uint16_t content_length) noexcept
{
    RecordHeader h{};
    h.version = protocol_version;
    h.type = static_cast<std::uint8_t>(type);
    h.request_id = request_id;
    h.content_length = content_length;
    h.padding_length = static_cast<std::uint8_t>((8 - content_length % 8) % 8);
    return h;
}

/// Management records travel on request id 0 (spec 3.3).
inline constexpr std::uint16_t management_request_id = 0;

} // namespace wsgibridge::fastcgi
