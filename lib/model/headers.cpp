#include "wsgibridge/headers.hpp"

namespace wsgibridge {

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]);
        unsigned char y = static_cast<unsigned char>(b[i]);
        if (x == y) continue;
        // Header names are ASCII tokens: folding with | 0x20 is exact for letters, and
        // '-' versus '_' (0x2d vs 0x5f) never fold onto each other.
        if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
    }
    return true;
}

std::optional<std::string_view> HeaderList::find(std::string_view name) const noexcept
{
    for (const auto& field : fields_)
        if (iequals(field.name, name)) return field.value;
    return std::nullopt;
}

} // namespace wsgibridge
