// Request-target helpers shared by the front ends (internal).
#pragma once

#include <string>
#include <string_view>

namespace wsgibridge {

struct TargetParts
{
    std::string_view path;  ///< raw, still percent-encoded
    std::string_view query; ///< without '?', raw
};

/// Splits an origin-form or absolute-form target ("http://host/p?q") into path and query.
TargetParts split_target(std::string_view target) noexcept;

/// Appends the percent-decoded bytes of `in` to `out`. Malformed escapes ("%zz", a
/// trailing "%") are kept literally, as Apache and nginx do. '+' is not a space in a path.
void percent_decode_append(std::string_view in, std::string& out);

/// Appends `raw` percent-encoded as a URI path (RFC 3986 §3.3: unreserved, sub-delims,
/// ':', '@' and '/' stay; '[' ']' '%' '?' '#', controls and non-ASCII are escaped), to
/// rebuild REQUEST_URI from decoded SCRIPT_NAME and PATH_INFO.
void percent_encode_path_append(std::string_view raw, std::string& out);

/// Splits a decoded path at the mount point: `mount` "/app" and path "/app/x" give
/// script_name "/app", path_info "/x". Returns false when the path is outside the mount
/// ("/application" is not under "/app").
bool split_mount(std::string_view decoded_path, std::string_view mount,
                 std::string_view& script_name, std::string_view& path_info) noexcept;

} // namespace wsgibridge
