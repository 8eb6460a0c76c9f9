#include "params_codec.hpp"

namespace wsgibridge::fastcgi {

Result<std::size_t> decode_length(std::span<const char>& in) noexcept
{
    if (in.empty()) return errc::protocol_error;
    auto b0 = static_cast<unsigned char>(in[0]);
    if ((b0 & 0x80) == 0) {
        in = in.subspan(1);
        return std::size_t{b0};
    }
    if (in.size() < 4) return errc::protocol_error;
    std::size_t n = (std::size_t{b0} & 0x7f) << 24 |
                    std::size_t{static_cast<unsigned char>(in[1])} << 16 |
                    std::size_t{static_cast<unsigned char>(in[2])} << 8 |
                    std::size_t{static_cast<unsigned char>(in[3])};
    in = in.subspan(4);
    return n;
}

namespace {
void encode_length(std::string& out, std::size_t n)
{
    if (n < 128) {
        out += static_cast<char>(n);
        return;
    }
    out += static_cast<char>(((n >> 24) & 0x7f) | 0x80);
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
}
} // namespace

void encode_pair(std::string& out, std::string_view name, std::string_view value)
{
    encode_length(out, name.size());
    encode_length(out, value.size());
    out += name;
    out += value;
}

} // namespace wsgibridge::fastcgi
