// The request body of one FastCGI request: the connection's reader pushes STDIN
// record contents in, the application pulls them out through BodySource::read on a
// worker thread. The app may start before the body has arrived; a body that stops
// coming fails the read after --io-timeout. When more than a high-water mark is
// queued the reader stops reading the connection until the app catches up, so a fast
// web server cannot make us buffer a whole body.
#pragma once

#include "wsgibridge/body_source.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <string>

namespace wsgibridge::fastcgi {

class BodyQueue final : public BodySource
{
public:
    static constexpr std::size_t high_water = 1024 * 1024;

    BodyQueue(std::optional<std::uint64_t> content_length, std::uint64_t max_body,
              std::chrono::milliseconds io_timeout);

    // Reader side (the io thread).
    /// Queues `data` (copied). Returns true when the queue is now above the high-water
    /// mark: the caller pauses reading and is resumed through `on_low_water`.
    bool push(std::span<const char> data);
    void end_of_stream();
    /// Fails the reads to come (the web server aborted or went away).
    void fail(std::error_code ec);
    /// Called (from the consumer's thread) when a paused reader may read again.
    void set_on_low_water(std::function<void()> f)
    {
        std::lock_guard lock(mutex_);
        on_low_water_ = std::move(f);
    }
    /// Nothing more of the body will come off the connection (it may still be queued).
    bool complete() const;

    // Consumer side (a worker thread).
    Result<std::size_t> read(std::span<char> buf) override;
    std::optional<std::uint64_t> remaining() const noexcept override;
    /// Reads and discards what is left, up to `max_bytes`, so the web server can finish
    /// sending it. True when the body ended (or failed) within the bounds.
    bool drain(std::uint64_t max_bytes);
    std::uint64_t received() const;

private:
    void consumed(std::unique_lock<std::mutex>& lock, std::size_t n);
    bool all_received() const noexcept; ///< with mutex_ held
    /// With mutex_ held, after anything all_received() reads changed.
    void note_progress() noexcept;

    mutable std::mutex mutex_;
    std::condition_variable ready_;
    /// A list, not a deque: an empty one allocates nothing (a GET's body is empty).
    std::list<std::string> chunks_;
    std::size_t front_offset_ = 0;
    std::size_t buffered_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t read_ = 0;
    bool eof_ = false;
    bool paused_ = false;
    std::error_code error_;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t max_body_;
    std::chrono::milliseconds io_timeout_;
    std::function<void()> on_low_water_;
    /// all_received(), readable without the mutex: asked on every request (where it
    /// runs, whether END_REQUEST goes with the last bytes) and only ever turns true.
    std::atomic<bool> complete_{false};
};

} // namespace wsgibridge::fastcgi
