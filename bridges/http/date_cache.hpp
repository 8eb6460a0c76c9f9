// The Date header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once a second
// per thread: strftime per response is measurable at 30k responses a second. Each io
// thread keeps its own copy, so there is no lock and no sharing. Internal.
#pragma once

#include <string_view>

namespace wsgibridge::http {

/// "Wed, 25 Nov 2026 12:00:00 GMT", valid until the calling thread calls it again.
std::string_view http_date() noexcept;

} // namespace wsgibridge::http
