#include "codec.hpp"

namespace wsgibridge::scgi {

Result<std::optional<LengthPrefix>> parse_length_prefix(std::string_view in) noexcept
{
    std::size_t length = 0;
    for (std::size_t i = 0; i < in.size() && i < max_prefix_size; ++i) {
        char c = in[i];
        if (c == ':') {
            if (i == 0) return make_error_code(errc::protocol_error);
            return std::optional<LengthPrefix>(LengthPrefix{length, i + 1});
        }
        if (c < '0' || c > '9' || i == max_prefix_size - 1)
            return make_error_code(errc::protocol_error);
        length = length * 10 + static_cast<std::size_t>(c - '0');
    }
    return std::optional<LengthPrefix>();
}

} // namespace wsgibridge::scgi
