// libFuzzer target for the SCGI codec: arbitrary bytes read as a request head, the
// netstring length prefix parsed, the headers decoded and turned into a Request by
// model/cgi_request, with and without --mount. Crashes, sanitizer reports and failed
// checks (abort) are findings.
#include "scgi/codec.hpp"
#include "stream/request_from_head.hpp"

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
    auto prefix = scgi::parse_length_prefix(in);
    if (!prefix || !*prefix) return 0;
    auto [length, prefix_size] = **prefix;
    check(prefix_size <= scgi::max_prefix_size && prefix_size <= in.size());
    // What the connection reads: the netstring and its ',' (fewer bytes if the input
    // is shorter, as a truncated head would be refused before decoding).
    std::string head(in.substr(prefix_size, length + 1));
    for (std::string_view mount : {std::string_view{}, std::string_view{"/app"}}) {
        std::string copy = head, scratch, detail;
        Request r;
        CgiRequestOptions options{.mount = mount};
        auto ec =
            stream::request_from_head(StreamProtocol::scgi, copy, options, scratch, r, detail);
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
