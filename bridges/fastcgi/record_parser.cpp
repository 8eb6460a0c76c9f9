#include "record_parser.hpp"

#include <algorithm>
#include <cstring>

namespace wsgibridge::fastcgi {

RecordParser::RecordParser() = default;

Result<Record> RecordParser::next(std::span<const char>& input)
{
    // The usual case: at a record boundary with the whole record, padding included, in
    // `input` (a web server writes a request's records together). Read in place, no
    // copy of the header into the parser and back.
    if (header_have_ == 0 && padding_left_ == 0 && input.size() >= header_size) {
        RecordHeader h;
        std::memcpy(&h, input.data(), header_size);
        std::size_t length = h.content_length.value();
        std::size_t whole = header_size + length + h.padding_length;
        if (h.version == protocol_version && input.size() >= whole) {
            Record rec;
            rec.type = h.type;
            rec.request_id = h.request_id.value();
            rec.content = input.subspan(header_size, length);
            input = input.subspan(whole);
            return rec;
        }
    }
    // Padding of the previous record may have arrived in a later read: skip it first,
    // whatever the record type (nginx pads PARAMS and STDIN).
    std::size_t skip = std::min(padding_left_, input.size());
    padding_left_ -= skip;
    input = input.subspan(skip);
    if (padding_left_ > 0) return errc::need_more;

    if (header_have_ < header_size) {
        std::size_t take = std::min(header_size - header_have_, input.size());
        std::memcpy(header_.data() + header_have_, input.data(), take);
        header_have_ += take;
        input = input.subspan(take);
        if (header_have_ < header_size) return errc::need_more;
        RecordHeader h;
        std::memcpy(&h, header_.data(), header_size);
        if (h.version != protocol_version) return errc::unsupported_version;
        content_want_ = h.content_length.value();
        pending_padding_ = h.padding_length;
        content_.clear();
    }

    Record rec;
    RecordHeader h;
    std::memcpy(&h, header_.data(), header_size);
    rec.type = h.type;
    rec.request_id = h.request_id.value();

    if (content_.empty() && input.size() >= content_want_) {
        // The common case: the whole content is in this read, no copy.
        rec.content = input.first(content_want_);
        input = input.subspan(content_want_);
    } else {
        // Reserved when a record first arrives split (most connections never see one).
        if (content_.capacity() < content_want_) content_.reserve(max_content_length);
        std::size_t take = std::min(content_want_ - content_.size(), input.size());
        content_.insert(content_.end(), input.data(), input.data() + take);
        input = input.subspan(take);
        if (content_.size() < content_want_) return errc::need_more;
        rec.content = {content_.data(), content_.size()};
    }

    header_have_ = 0;
    padding_left_ = pending_padding_;
    skip = std::min(padding_left_, input.size());
    padding_left_ -= skip;
    input = input.subspan(skip);
    return rec;
}

} // namespace wsgibridge::fastcgi
