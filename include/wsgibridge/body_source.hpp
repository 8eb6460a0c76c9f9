// The request body, pulled by the application as it reads wsgi.input. No front end
// buffers a whole body: each implementation reads from its transport on demand.
#pragma once

#include "error.hpp"
#include "export.hpp"

#include <cstddef>
#include <optional>
#include <span>

namespace wsgibridge {

class WSGIBRIDGE_API BodySource
{
public:
    virtual ~BodySource() = default;

    /// Reads up to `buf.size()` bytes, blocking until at least one byte is available.
    /// Returns 0 at the end of the body, or an error (timeout, peer gone, body too large,
    /// truncated). Called without the GIL held; never called concurrently.
    virtual Result<std::size_t> read(std::span<char> buf) = 0;

    /// Bytes still to come when known (Content-Length minus what was read).
    virtual std::optional<std::uint64_t> remaining() const noexcept { return std::nullopt; }
};

/// A body with nothing in it (GET, or tests).
class WSGIBRIDGE_API EmptyBody final : public BodySource
{
public:
    Result<std::size_t> read(std::span<char>) override { return std::size_t{0}; }
    std::optional<std::uint64_t> remaining() const noexcept override { return 0; }
};

} // namespace wsgibridge
