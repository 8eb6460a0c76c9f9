// A move-only owner of one file descriptor: closed exactly once, by whoever holds it last.
#pragma once

#include <unistd.h>
#include <utility>

namespace wsgibridge {

class UniqueFd
{
public:
    UniqueFd() noexcept = default;
    /// Takes ownership of `fd` (-1: owns nothing).
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    /// The descriptor, still owned by this object (-1 when empty).
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership: the caller closes the returned fd.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the owned fd (if any) and takes `fd` instead.
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace wsgibridge
