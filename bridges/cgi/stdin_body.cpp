#include "stdin_body.hpp"

#include <array>
#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace wsgibridge::cgi {

StdinBody::StdinBody(int fd, std::optional<std::uint64_t> length, std::uint64_t max_bytes,
                     std::chrono::milliseconds timeout) noexcept
    : fd_(fd), remaining_(length), max_bytes_(max_bytes), timeout_(timeout)
{
    ended_ = remaining_ && *remaining_ == 0;
}

std::optional<std::uint64_t> StdinBody::remaining() const noexcept
{
    if (ended_) return 0;
    return remaining_;
}

// One read(2) of at most `size` bytes, waiting up to the timeout for the first byte:
// stdin may be a pipe whose writer never closes it.
Result<std::size_t> StdinBody::read_some(char* data, std::size_t size)
{
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return make_error_code(errc::timeout);
        ssize_t n = ::read(fd_, data, size);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return make_error_code(errc::peer_gone);
        return static_cast<std::size_t>(n);
    }
}

Result<std::size_t> StdinBody::read(std::span<char> buf)
{
    if (ended_ || buf.empty()) return std::size_t{0};
    std::size_t want = buf.size();
    if (remaining_ && *remaining_ < want) want = static_cast<std::size_t>(*remaining_);
    auto n = read_some(buf.data(), want);
    if (!n) return n;
    if (*n == 0) {
        ended_ = true;
        if (remaining_) return make_error_code(errc::body_truncated);
        return std::size_t{0};
    }
    consumed_ += *n;
    if (remaining_) {
        *remaining_ -= *n;
        ended_ = *remaining_ == 0;
    } else if (consumed_ > max_bytes_) {
        ended_ = true;
        return make_error_code(errc::body_too_large);
    }
    return n;
}

std::uint64_t StdinBody::drain(std::uint64_t limit, bool& complete) noexcept
{
    std::array<char, 16 * 1024> scratch;
    std::uint64_t discarded = 0;
    while (!ended_ && discarded < limit) {
        std::size_t want = scratch.size();
        if (limit - discarded < want) want = static_cast<std::size_t>(limit - discarded);
        auto n = read({scratch.data(), want});
        if (!n) break;
        discarded += *n;
    }
    complete = ended_;
    return discarded;
}

} // namespace wsgibridge::cgi
