// The uwsgi protocol's request (uWSGI docs, "The uwsgi protocol"): a 4-byte header
// (modifier1, 16-bit little-endian datasize, modifier2), then for modifier1 0 (WSGI
// vars) `datasize` bytes of pairs, each a 16-bit little-endian key size, the key, a
// 16-bit little-endian value size, the value; the body follows. Sans-I/O; declared
// sizes are checked against the bytes present before anything is touched.
#pragma once

#include "wsgibridge/error.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace wsgibridge::uwsgi {

inline constexpr std::size_t packet_header_size = 4;

struct PacketHeader
{
    std::uint8_t modifier1 = 0;
    std::uint16_t datasize = 0;
    std::uint8_t modifier2 = 0;
};

PacketHeader parse_packet_header(std::span<const char, packet_header_size> in) noexcept;

/// One var: `name` mutable so the request model may rewrite it in place.
struct Var
{
    std::span<char> name;
    std::string_view value;
};

/// Calls on_var(Var) for each pair of the vars block. protocol_error when a size runs
/// past the block or a key is empty.
template <class OnVar>
std::error_code decode_vars(std::span<char> block, OnVar&& on_var)
{
    auto u16 = [&block](std::size_t at) {
        return static_cast<std::size_t>(static_cast<unsigned char>(block[at])) |
               static_cast<std::size_t>(static_cast<unsigned char>(block[at + 1])) << 8;
    };
    std::size_t at = 0;
    while (at < block.size()) {
        if (block.size() - at < 2) return errc::protocol_error;
        std::size_t key_size = u16(at);
        at += 2;
        if (key_size == 0 || block.size() - at < key_size + 2) return errc::protocol_error;
        auto name = block.subspan(at, key_size);
        at += key_size;
        std::size_t value_size = u16(at);
        at += 2;
        if (block.size() - at < value_size) return errc::protocol_error;
        on_var(Var{name, std::string_view(block.data() + at, value_size)});
        at += value_size;
    }
    return {};
}

} // namespace wsgibridge::uwsgi
