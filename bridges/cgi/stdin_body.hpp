// The CGI request body: stdin, read on demand, exactly CONTENT_LENGTH bytes and never
// to EOF (RFC 3875 §4.2: the server need not close it), or to EOF when the server
// streams a body of unknown length. Internal to the CGI front end.
#pragma once

#include "wsgibridge/body_source.hpp"

#include <chrono>
#include <cstdint>

namespace wsgibridge::cgi {

class StdinBody final : public BodySource
{
public:
    /// `length`: the body length, or nullopt to read until EOF (bounded by `max_bytes`).
    /// A read that waits longer than `timeout` fails with errc::timeout.
    StdinBody(int fd, std::optional<std::uint64_t> length, std::uint64_t max_bytes,
              std::chrono::milliseconds timeout) noexcept;

    /// EOF before `length` bytes: errc::body_truncated. More than `max_bytes` in
    /// until-EOF mode: errc::body_too_large.
    Result<std::size_t> read(std::span<char> buf) override;
    std::optional<std::uint64_t> remaining() const noexcept override;

    /// Reads and discards what the application left unread, at most `limit` bytes,
    /// so the server can deliver the response (mod_cgid resets the client when a script leaves
    /// input unread). Returns the bytes discarded; `complete` tells whether the body end was
    /// reached.
    std::uint64_t drain(std::uint64_t limit, bool& complete) noexcept;

private:
    Result<std::size_t> read_some(char* data, std::size_t size);

    int fd_;
    std::optional<std::uint64_t> remaining_;
    std::uint64_t max_bytes_;
    std::uint64_t consumed_ = 0;
    std::chrono::milliseconds timeout_;
    bool ended_ = false;
};

} // namespace wsgibridge::cgi
