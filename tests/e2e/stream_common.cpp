#include "stream_common.hpp"

#include <chrono>
#include <unistd.h>

namespace wsgibridge::test {
using namespace std::chrono_literals;

CommandResult get_with_cookie(const std::string& base, std::size_t size)
{
    TempDir tmp;
    write_file(tmp / "cookie.hdr", "Cookie: big=" + std::string(size, 'c') + "\n");
    return curl({"-H", "@" + (tmp / "cookie.hdr").string(), base + "/cookie"});
}

void disconnect_mid_body(unsigned short port, const std::string& path)
{
    std::string head = "POST " + path +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: 1000000\r\n\r\n";
    raw_exchange(port, head + std::string(10000, 'x'), 500ms);
}

std::string uwsgi_packet(const Vars& vars)
{
    std::string block;
    auto u16 = [&block](std::size_t n) {
        block += static_cast<char>(n & 0xff);
        block += static_cast<char>(n >> 8);
    };
    for (const auto& [k, v] : vars) {
        u16(k.size());
        block += k;
        u16(v.size());
        block += v;
    }
    std::string head{'\0', static_cast<char>(block.size() & 0xff),
                     static_cast<char>(block.size() >> 8), '\0'};
    return head + block;
}

std::string scgi_netstring(const Vars& vars)
{
    std::string block;
    for (const auto& [k, v] : vars)
        (((block += k) += '\0') += v) += '\0';
    return std::to_string(block.size()) + ":" + block + ",";
}

int status_code(const std::string& raw)
{
    auto pos = raw.rfind("HTTP/1.1 ");
    return pos == std::string::npos ? 0 : std::stoi(raw.substr(pos + 9, 3));
}

} // namespace wsgibridge::test
