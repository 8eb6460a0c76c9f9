#include "record_writer.hpp"

#include <algorithm>

namespace wsgibridge::fastcgi {
namespace {
constexpr char zeros[8] = {};

iovec iov_of(const void* p, std::size_t n) noexcept
{
    return {const_cast<void*>(p), n};
}
} // namespace

void RecordWriter::reset(std::uint16_t request_id) noexcept
{
    request_id_ = request_id;
    headers_used_ = 0;
    more_headers_.clear();
    end_body_used_ = false;
    more_end_bodies_.clear();
    iov_.clear();
    open_ = nullptr;
    open_length_ = 0;
}

RecordHeader& RecordWriter::new_header(const RecordHeader& h)
{
    if (headers_used_ < inline_headers) return headers_[headers_used_++] = h;
    return more_headers_.emplace_front(h);
}

RecordHeader& RecordWriter::open_header(RecordType type)
{
    seal();
    auto& h = new_header(make_header(type, request_id_, 0));
    iov_.push_back(iov_of(&h, header_size));
    return h;
}

void RecordWriter::seal() noexcept
{
    if (!open_) return;
    auto len = static_cast<std::uint16_t>(open_length_);
    *open_ = make_header(static_cast<RecordType>(open_->type), request_id_, len);
    if (open_->padding_length) iov_.push_back(iov_of(zeros, open_->padding_length));
    open_ = nullptr;
    open_length_ = 0;
}

void RecordWriter::append(RecordType type, std::span<const char> bytes)
{
    while (!bytes.empty()) {
        if (!open_ || open_->type != static_cast<std::uint8_t>(type) ||
            open_length_ == max_written_content) {
            open_ = &open_header(type);
        }
        std::size_t take = std::min(max_written_content - open_length_, bytes.size());
        iov_.push_back(iov_of(bytes.data(), take));
        open_length_ += take;
        bytes = bytes.subspan(take);
    }
}

void RecordWriter::end_stream(RecordType type)
{
    open_header(type);
}

void RecordWriter::end_request(std::uint32_t app_status, ProtocolStatus status)
{
    open_header(RecordType::end_request).content_length = sizeof(EndRequestBody);
    EndRequestBody body{};
    body.app_status = app_status;
    body.protocol_status = static_cast<std::uint8_t>(status);
    EndRequestBody* stored = &end_body_;
    if (end_body_used_)
        stored = &more_end_bodies_.emplace_front(body);
    else
        end_body_ = body, end_body_used_ = true;
    iov_.push_back(iov_of(stored, sizeof(EndRequestBody)));
}

void RecordWriter::record(RecordType type, std::span<const char> content)
{
    seal();
    auto& h =
        new_header(make_header(type, request_id_, static_cast<std::uint16_t>(content.size())));
    iov_.push_back(iov_of(&h, header_size));
    if (!content.empty()) iov_.push_back(iov_of(content.data(), content.size()));
    if (auto pad = h.padding_length) iov_.push_back(iov_of(zeros, pad));
}

std::span<iovec> RecordWriter::iov()
{
    seal();
    return iov_;
}

std::size_t RecordWriter::size_bytes() const noexcept
{
    std::size_t n = 0;
    for (const auto& v : iov_)
        n += v.iov_len;
    return n;
}

} // namespace wsgibridge::fastcgi
