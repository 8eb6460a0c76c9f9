#include "body_queue.hpp"

#include <algorithm>
#include <cstring>

namespace wsgibridge::fastcgi {

BodyQueue::BodyQueue(std::optional<std::uint64_t> content_length, std::uint64_t max_body,
                     std::chrono::milliseconds io_timeout)
    : content_length_(content_length), max_body_(max_body), io_timeout_(io_timeout)
{
    complete_.store(all_received(), std::memory_order_relaxed); // CONTENT_LENGTH 0: at once
}

bool BodyQueue::push(std::span<const char> data)
{
    std::lock_guard lock(mutex_);
    if (error_ || eof_) return false; // failed or over the limit: discard
    received_ += data.size();
    note_progress();
    if (received_ > max_body_) {
        // Without CONTENT_LENGTH the limit is only found while streaming: the app's
        // next read fails and the invoker answers (413 when nothing was sent yet).
        error_ = errc::body_too_large;
        note_progress();
        chunks_.clear();
        buffered_ = front_offset_ = 0;
        ready_.notify_all();
        return false;
    }
    if (data.empty()) return false;
    chunks_.emplace_back(data.data(), data.size());
    buffered_ += data.size();
    ready_.notify_all();
    if (buffered_ > high_water) {
        paused_ = true;
        return true;
    }
    return false;
}

void BodyQueue::end_of_stream()
{
    std::lock_guard lock(mutex_);
    eof_ = true;
    if (!error_ && content_length_ && received_ < *content_length_) error_ = errc::body_truncated;
    note_progress();
    ready_.notify_all();
}

void BodyQueue::fail(std::error_code ec)
{
    std::lock_guard lock(mutex_);
    if (!error_ && !eof_) error_ = ec;
    note_progress();
    ready_.notify_all();
}

bool BodyQueue::all_received() const noexcept
{
    // CONTENT_LENGTH bytes in: only the empty STDIN record can follow, and it does not
    // need to be waited for (records of an ended request are ignored).
    return eof_ || error_ || (content_length_ && received_ >= *content_length_);
}

bool BodyQueue::complete() const
{
    return complete_.load(std::memory_order_acquire);
}

void BodyQueue::note_progress() noexcept
{
    if (all_received()) complete_.store(true, std::memory_order_release);
}

std::uint64_t BodyQueue::received() const
{
    std::lock_guard lock(mutex_);
    return received_;
}

void BodyQueue::consumed(std::unique_lock<std::mutex>& lock, std::size_t n)
{
    buffered_ -= n;
    read_ += n;
    if (paused_ && buffered_ <= high_water / 2) {
        paused_ = false;
        auto resume = on_low_water_;
        lock.unlock(); // never call out with the lock held
        if (resume) resume();
        lock.lock();
    }
}

Result<std::size_t> BodyQueue::read(std::span<char> buf)
{
    std::unique_lock lock(mutex_);
    if (content_length_ && read_ >= *content_length_) return std::size_t{0};
    bool woke =
        ready_.wait_for(lock, io_timeout_, [&] { return !chunks_.empty() || eof_ || error_; });
    if (!woke) return errc::timeout;
    if (chunks_.empty()) {
        if (error_) return error_;
        return std::size_t{0};
    }
    std::size_t n = 0;
    while (n < buf.size() && !chunks_.empty()) {
        auto& front = chunks_.front();
        std::size_t take = std::min(buf.size() - n, front.size() - front_offset_);
        if (content_length_)
            take = static_cast<std::size_t>(
                std::min<std::uint64_t>(take, *content_length_ - read_ - n));
        if (take == 0) break;
        std::memcpy(buf.data() + n, front.data() + front_offset_, take);
        n += take;
        front_offset_ += take;
        if (front_offset_ == front.size()) {
            chunks_.pop_front();
            front_offset_ = 0;
        }
    }
    consumed(lock, n);
    return n;
}

std::optional<std::uint64_t> BodyQueue::remaining() const noexcept
{
    std::lock_guard lock(mutex_);
    if (!content_length_) return std::nullopt;
    return *content_length_ > read_ ? *content_length_ - read_ : 0;
}

bool BodyQueue::drain(std::uint64_t max_bytes)
{
    std::unique_lock lock(mutex_);
    std::uint64_t discarded = 0;
    for (;;) {
        while (!chunks_.empty()) {
            std::size_t n = chunks_.front().size() - front_offset_;
            chunks_.pop_front();
            front_offset_ = 0;
            discarded += n;
            consumed(lock, n);
        }
        if (all_received()) return true;
        if (discarded > max_bytes) return false;
        if (!ready_.wait_for(lock, io_timeout_, [&] { return !chunks_.empty() || eof_ || error_; }))
            return false;
    }
}

} // namespace wsgibridge::fastcgi
