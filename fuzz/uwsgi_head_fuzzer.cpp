// libFuzzer target for the uwsgi codec: arbitrary bytes read as a packet (4-byte header,
// then the vars block it announces, or whatever is there), decoded and turned into a
// Request by model/cgi_request, UWSGI_SCRIPT_NAME and --mount included. Crashes,
// sanitizer reports and failed checks (abort) are findings.
#include "stream/request_from_head.hpp"
#include "uwsgi/codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace wsgibridge;

namespace {
void check(bool ok)
{
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (in.size() < uwsgi::packet_header_size) return 0;
    auto header = uwsgi::parse_packet_header(
        std::span<const char, uwsgi::packet_header_size>(in.data(), uwsgi::packet_header_size));
    check(header.datasize <= 0xffff);
    std::string head(in.substr(uwsgi::packet_header_size, header.datasize));
    for (std::string_view mount : {std::string_view{}, std::string_view{"/app"}}) {
        std::string copy = head, scratch, detail;
        Request r;
        CgiRequestOptions options{.mount = mount};
        auto ec =
            stream::request_from_head(StreamProtocol::uwsgi, copy, options, scratch, r, detail);
        if (ec) {
            check(!detail.empty());
            continue;
        }
        check(!r.method.empty());
        check(r.scheme == "http" || r.scheme == "https");
        check(!r.target.empty());
    }
    return 0;
}
