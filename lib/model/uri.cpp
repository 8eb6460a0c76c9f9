#include "model/uri.hpp"

namespace wsgibridge {

TargetParts split_target(std::string_view target) noexcept
{
    // absolute-form: skip "scheme://authority" (RFC 9112 §3.2.2).
    if (auto scheme_end = target.find("://");
        scheme_end != std::string_view::npos && target.find('/') > scheme_end) {
        auto path_start = target.find_first_of("/?", scheme_end + 3);
        target = path_start == std::string_view::npos ? std::string_view{"/"}
                                                      : target.substr(path_start);
    }
    auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

namespace {
int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
} // namespace

void percent_decode_append(std::string_view in, std::string& out)
{
    out.reserve(out.size() + in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size()) {
            int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(in[i]);
    }
}

void percent_encode_path_append(std::string_view raw, std::string& out)
{
    constexpr std::string_view keep = "-._~!$&'()*+,;=:@/";
    constexpr char hex[] = "0123456789ABCDEF";
    for (char c : raw) {
        auto u = static_cast<unsigned char>(c);
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum || keep.find(c) != std::string_view::npos) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
}

bool split_mount(std::string_view path, std::string_view mount, std::string_view& script_name,
                 std::string_view& path_info) noexcept
{
    while (!mount.empty() && mount.back() == '/')
        mount.remove_suffix(1);
    if (mount.empty()) {
        script_name = {};
        path_info = path;
        return true;
    }
    if (!path.starts_with(mount)) return false;
    if (path.size() > mount.size() && path[mount.size()] != '/') return false;
    script_name = path.substr(0, mount.size());
    path_info = path.substr(mount.size());
    return true;
}

} // namespace wsgibridge
