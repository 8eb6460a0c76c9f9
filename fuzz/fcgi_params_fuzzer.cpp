// libFuzzer target for the FastCGI name-value pair decoder (FastCGI 1.0 section 3.4)
// and the PARAMS -> Request mapping, without the record layer around them (that is
// fcgi_record_fuzzer's job): the input is one whole PARAMS stream. Every pair decoded
// must lie inside the stream; an accepted stream gives a Request with a method and a
// scheme.
#include "params_codec.hpp"
#include "request_from_params.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;

namespace {
void check(bool ok)
{
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 256 * 1024) return -1;
    std::string stream(reinterpret_cast<const char*>(data), size);
    const char* begin = stream.data();
    const char* end = begin + stream.size();
    (void)decode_pairs(std::span<char>(stream), [&](const Pair& p) {
        check(p.name.data() >= begin && p.name.data() + p.name.size() <= end);
        check(p.value.data() >= begin && p.value.data() + p.value.size() <= end);
    });

    std::string params(reinterpret_cast<const char*>(data), size), scratch;
    Request req;
    ParamsOptions options{.mount = size % 3 == 0 ? "/app" : "",
                          .max_header_count = 50,
                          .promote_redirect_authorization = size % 2 == 1};
    if (request_from_params(params, scratch, options, req)) return 0;
    check(!req.method.empty());
    check(req.scheme == "http" || req.scheme == "https");
    return 0;
}
