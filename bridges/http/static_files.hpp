// Static files served by the C++ side (--static-map PREFIX=DIR, uWSGI's name): no Python,
// sendfile(2), conditional requests (RFC 9110 §13), single byte ranges (RFC 9110 §14),
// precompressed name.br / name.gz variants. Nothing outside DIR is ever opened: the path
// is decoded once, ".." refused, and the file opened with openat2(RESOLVE_BENEATH) under
// the directory's descriptor (a symlink leaving DIR fails). Uses only the Request model
// and a ResponseSink, so it is unit-tested without sockets. Internal.
#pragma once

#include "util/unique_fd.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/request.hpp"
#include "wsgibridge/response_sink.hpp"

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge::http {

struct StaticMapping
{
    std::string prefix; ///< "/static" (no trailing slash; "" for the root)
    std::string dir;
};

/// "PREFIX=DIR". Throws std::invalid_argument naming --static-map.
StaticMapping parse_static_map(std::string_view spec);

enum class PathVerdict {
    not_mapped, ///< not under `prefix`: the application's
    refused,    ///< under `prefix` but never servable (.., NUL, backslash)
    ok,         ///< `relative` is the file below DIR ("" for DIR itself)
};

/// Decodes the path of `target` once and splits off `prefix`. `.` and empty segments
/// are dropped; a `..` segment, a NUL byte or a backslash refuses the request.
PathVerdict static_relative_path(std::string_view target, std::string_view prefix,
                                 std::string& relative);

struct ByteRange
{
    std::uint64_t first = 0, last = 0; ///< inclusive
};
enum class RangeVerdict { ignore, satisfiable, unsatisfiable };
/// A Range header for a representation of `size` bytes. Only one "bytes=" range is
/// honoured; several ranges or a malformed header are ignored (the whole file, 200), as
/// RFC 9110 §14.2 permits.
RangeVerdict parse_range(std::string_view header, std::uint64_t size, ByteRange& range);

/// "text/css; charset=utf-8" from the file name's extension; application/octet-stream
/// when unknown.
std::string_view content_type_for(std::string_view name) noexcept;

/// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms.
bool parse_http_date(std::string_view text, std::time_t& out) noexcept;
std::string format_http_date(std::time_t t);

struct AcceptedEncodings
{
    bool gzip = false, br = false;
};
/// Which of gzip and br the Accept-Encoding header allows (q > 0, "*" included).
AcceptedEncodings accepted_encodings(std::string_view accept_encoding) noexcept;

struct EncodedVariant
{
    std::string_view suffix;      ///< ".br": the file name.br next to name
    std::string_view coding;      ///< "br": its Content-Encoding
    std::string_view etag_suffix; ///< "-br": keeps its ETag apart from the identity one
};
/// The precompressed variants worth opening for a client that takes `accepted`, in
/// preference order (br, then gzip). Only those it takes: a client accepting neither
/// costs no lookup at all.
std::span<const EncodedVariant> variants_to_try(AcceptedEncodings accepted) noexcept;

class StaticFiles
{
public:
    /// Opens every DIR. Throws std::invalid_argument (naming --static-map) when one is not
    /// a directory.
    explicit StaticFiles(const std::vector<StaticMapping>& mappings);

    /// When the request's path falls under a prefix, answers it through `sink` and
    /// returns true; otherwise returns false and touches nothing.
    bool serve(const Request& req, ResponseSink& sink, const Logger& log) const;

private:
    struct Root
    {
        std::string prefix;
        std::string dir; ///< realpath, for the fallback without openat2
        util::UniqueFd fd;
    };
    std::vector<Root> roots_;
};

} // namespace wsgibridge::http
