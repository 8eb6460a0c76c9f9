// Bounds the chunk extensions of one request body. RFC 9112 section 7.1.1 lets a
// recipient ignore extensions, and nothing passes them to a WSGI application, so the
// only thing they can carry is load: Node.js caps them at 16 KiB per message since
// CVE-2024-22019, and so do we. It also refuses obs-fold in the trailer section
// (RFC 9112 section 5.2), which Beast would unfold. Installed as the parser's
// chunk-header callback. Internal.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsgibridge::http {

class ChunkGuard
{
public:
    static constexpr std::size_t max_extension_bytes = 16 * 1024;

    void reset() noexcept
    {
        total_ = 0;
        problem_ = {};
    }

    void operator()(std::uint64_t size, std::string_view extensions, boost::beast::error_code& ec)
    {
        total_ += extensions.size();
        if (total_ > max_extension_bytes) {
            problem_ = "chunk extensions longer than 16 KiB in total";
            ec = boost::beast::http::error::bad_chunk_extension;
        } else if (size == 0 && folded_trailer(extensions.data() + extensions.size())) {
            problem_ = "obsolete line folding in the trailer section (RFC 9112 section 5.2)";
            ec = boost::beast::http::error::bad_chunk_extension;
        }
    }

    /// Why the guard stopped the body, or "".
    std::string_view problem() const noexcept { return problem_; }

private:
    // Beast (1.81, basic_parser::parse_chunk_header) reports the last chunk only once
    // the whole trailer section up to its CRLF CRLF is buffered, with `extensions`
    // pointing into that buffer just before the CRLF ending the last-chunk line: the
    // search below always stops at that CRLF CRLF at the latest.
    static bool folded_trailer(const char* p) noexcept
    {
        for (;;) {
            while (!(p[0] == '\r' && p[1] == '\n'))
                ++p;
            p += 2; // the start of a trailer line, or the final CRLF
            if (p[0] == '\r' && p[1] == '\n') return false;
            if (p[0] == ' ' || p[0] == '\t') return true;
        }
    }

    std::size_t total_ = 0;
    std::string_view problem_;
};

} // namespace wsgibridge::http
