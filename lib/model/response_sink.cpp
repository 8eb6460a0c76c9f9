#include "wsgibridge/response_sink.hpp"

#include <array>
#include <cerrno>
#include <unistd.h>

namespace wsgibridge {

std::error_code ResponseSink::respond(const ResponseHead& head, std::span<const char> body)
{
    if (auto ec = start(head)) return ec;
    if (head.body_allowed && !body.empty())
        if (auto ec = write(body)) return ec;
    return finish();
}

std::error_code ResponseSink::send_file(int fd, std::uint64_t offset, std::uint64_t count)
{
    std::array<char, 64 * 1024> buf;
    while (count > 0) {
        std::size_t want = count < buf.size() ? static_cast<std::size_t>(count) : buf.size();
        ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return {errno, std::generic_category()};
        if (n == 0) break; // the file is shorter than announced: the caller notices
        if (auto ec = write({buf.data(), static_cast<std::size_t>(n)})) return ec;
        offset += static_cast<std::uint64_t>(n);
        count -= static_cast<std::uint64_t>(n);
    }
    return {};
}

} // namespace wsgibridge
