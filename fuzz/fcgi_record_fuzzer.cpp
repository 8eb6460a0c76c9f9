// libFuzzer target for the FastCGI codec: arbitrary bytes, fed to the record parser in
// pieces of a size the input chooses, every PARAMS stream decoded into a Request and
// every GET_VALUES answered, STDIN re-framed by the writer and checked. Crashes,
// sanitizer reports and failed checks (abort) are findings.
#include "management.hpp"
#include "record_parser.hpp"
#include "record_writer.hpp"
#include "request_from_params.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;

namespace {
void check(bool ok)
{
    if (!ok) std::abort();
}

void on_record(const Record& rec, std::map<std::uint16_t, std::string>& params)
{
    switch (rec.record_type()) {
    case RecordType::params: {
        auto& p = params[rec.request_id];
        if (!rec.content.empty()) {
            if (p.size() + rec.content.size() <= 256 * 1024)
                p.append(rec.content.data(), rec.content.size());
            return;
        }
        std::string scratch;
        Request req;
        ParamsOptions options{.mount = rec.request_id % 2 ? "/app" : "", .max_header_count = 100};
        auto ec = request_from_params(p, scratch, options, req);
        if (!ec) check(!req.method.empty() && (req.scheme == "http" || req.scheme == "https"));
        params.erase(rec.request_id);
        return;
    }
    case RecordType::get_values: {
        std::string copy(rec.content.begin(), rec.content.end());
        auto answer = get_values_result(copy, {10, 20, true});
        check(answer.size() <= 3 * (2 + 15 + 5));
        return;
    }
    case RecordType::stdin_stream: {
        RecordWriter w(rec.request_id);
        w.append(RecordType::stdout_stream, rec.content);
        w.end_stream(RecordType::stdout_stream);
        std::size_t data = rec.content.size();
        std::size_t records = (data + max_written_content - 1) / max_written_content + 1;
        std::size_t padding = (8 - data % max_written_content % 8) % 8;
        check(w.size_bytes() == data + records * header_size + padding);
        return;
    }
    default:
        return;
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    std::size_t piece = data[0] % 64 + 1;
    std::span<const char> all(reinterpret_cast<const char*>(data) + 1, size - 1);
    RecordParser parser;
    std::map<std::uint16_t, std::string> params;
    while (!all.empty()) {
        std::size_t take = piece < all.size() ? piece : all.size();
        std::span<const char> in = all.first(take);
        all = all.subspan(take);
        for (;;) {
            auto rec = parser.next(in);
            if (!rec) {
                if (rec.error() != errc::need_more) return 0; // version != 1: the connection closes
                check(in.empty());
                break;
            }
            on_record(*rec, params);
        }
    }
    return 0;
}
