#include "management.hpp"

#include "params_codec.hpp"
#include "protocol.hpp"

#include <string_view>

namespace wsgibridge::fastcgi {

std::string get_values_result(std::span<char> content, const ServerFigures& figures)
{
    std::string out;
    // Pairs are answered one by one, so a malformed tail still leaves the good ones.
    (void)decode_pairs(content, [&](const Pair& p) {
        std::string_view name(p.name.data(), p.name.size());
        if (name == "FCGI_MAX_CONNS")
            encode_pair(out, name, std::to_string(figures.max_conns));
        else if (name == "FCGI_MAX_REQS")
            encode_pair(out, name, std::to_string(figures.max_reqs));
        else if (name == "FCGI_MPXS_CONNS")
            encode_pair(out, name, figures.mpxs_conns ? "1" : "0");
    });
    return out;
}

std::string unknown_type_body(std::uint8_t type)
{
    std::string out(sizeof(UnknownTypeBody), '\0');
    out[0] = static_cast<char>(type);
    return out;
}

} // namespace wsgibridge::fastcgi
