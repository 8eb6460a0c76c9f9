#include "request_from_head.hpp"

#include "scgi/codec.hpp"
#include "uwsgi/codec.hpp"

namespace wsgibridge::stream {

std::error_code request_from_head(StreamProtocol protocol, std::span<char> head,
                                  CgiRequestOptions& options, std::string& scratch, Request& out,
                                  std::string& detail)
{
    CgiRequestBuilder builder(options, out);
    std::span<char> block = head;
    std::error_code ec;
    if (protocol == StreamProtocol::scgi) {
        const char* why = nullptr;
        ec = scgi::decode_headers(
            block, [&](const scgi::Header& v) { builder.add(v.name, v.value); }, why);
        if (ec) detail = concat("bad SCGI headers: ", why ? why : "malformed");
    } else {
        ec = uwsgi::decode_vars(block, [&](const uwsgi::Var& v) {
            std::string_view name(v.name.data(), v.name.size());
            // uWSGI's per-request mount point: SCRIPT_NAME + PATH_INFO re-split at it.
            if (name == "UWSGI_SCRIPT_NAME" && !v.value.empty()) options.mount = v.value;
            builder.add(v.name, v.value);
        });
        if (ec) detail = "bad uwsgi vars block: a size runs past the block or a key is empty";
    }
    if (ec) return ec;
    ec = builder.finish(scratch);
    if (ec) detail = builder.error_detail();
    return ec;
}

} // namespace wsgibridge::stream
