#include "request_from_params.hpp"

#include "params_codec.hpp"

namespace wsgibridge::fastcgi {

std::error_code request_from_params(std::string& params, std::string& scratch,
                                    const ParamsOptions& options, Request& r)
{
    CgiRequestBuilder builder(options, r);
    auto ec = decode_pairs(std::span<char>(params.data(), params.size()),
                           [&](const Pair& p) { builder.add(p.name, p.value); });
    if (ec) return ec;
    return builder.finish(scratch);
}

} // namespace wsgibridge::fastcgi
