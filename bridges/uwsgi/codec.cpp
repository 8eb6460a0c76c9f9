#include "codec.hpp"

namespace wsgibridge::uwsgi {

PacketHeader parse_packet_header(std::span<const char, packet_header_size> in) noexcept
{
    auto byte = [&in](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
    return {byte(0), static_cast<std::uint16_t>(byte(1) | byte(2) << 8), byte(3)};
}

} // namespace wsgibridge::uwsgi
