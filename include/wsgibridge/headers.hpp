// An ordered list of header fields, duplicates kept, as views into a buffer owned by
// whoever filled it (the front end's per-request buffer).
#pragma once

#include "export.hpp"

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace wsgibridge {

struct Header
{
    std::string_view name;
    std::string_view value;
};

/// ASCII case-insensitive comparison; header names are tokens (RFC 9110 §5.1).
WSGIBRIDGE_API bool iequals(std::string_view a, std::string_view b) noexcept;

class WSGIBRIDGE_API HeaderList
{
public:
    void add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
    void clear() noexcept { fields_.clear(); }
    void reserve(std::size_t n) { fields_.reserve(n); }

    /// The first field named `name` (case-insensitive), if any.
    std::optional<std::string_view> find(std::string_view name) const noexcept;

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }
    const Header& operator[](std::size_t i) const noexcept { return fields_[i]; }

private:
    std::vector<Header> fields_;
};

} // namespace wsgibridge
