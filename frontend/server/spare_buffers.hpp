// Buffers a connection needs only while it is busy (its unwritten replies, the lines of a
// read past one turn), lent by the I/O thread that runs it. A connection gives its
// buffers back when it falls idle, so that thousands of idle miners hold none; a busy
// one takes them again with the capacity another connection left, so that a flood's
// steady state allocates nothing. Each thread keeps a few spares of a bounded size: a
// connection that once wrote a megabyte does not leave a megabyte behind.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace sharegate::server {

namespace spare_limits {
inline constexpr std::size_t kSparesPerThread = 64;  // of each kind
inline constexpr std::size_t kLargestSpareBytes = 32 * 1024;
}  // namespace spare_limits

namespace detail {
template <class Buffer>
std::vector<Buffer>& thread_spares() {
    thread_local std::vector<Buffer> spares;
    return spares;
}
// Whether the buffer holds storage of its own (a std::string's inline capacity is not).
template <class Buffer>
bool holds_storage(const Buffer& buffer) {
    return buffer.capacity() > Buffer().capacity();
}
}  // namespace detail

// Gives `buffer`, when it is empty and holds no storage, a spare of this thread's if there
// is one. Cheap when it holds storage already: call it before each use.
template <class Buffer>
void borrow_spare(Buffer& buffer) {
    if (!buffer.empty() || detail::holds_storage(buffer)) return;
    auto& spares = detail::thread_spares<Buffer>();
    if (spares.empty()) return;
    buffer = std::move(spares.back());
    spares.pop_back();
}

// Empties `buffer` and leaves it without capacity; its storage becomes a spare when small
// enough and the thread has room for it, else it is freed.
template <class Buffer>
void return_spare(Buffer& buffer) {
    buffer.clear();
    if (!detail::holds_storage(buffer)) return;
    auto& spares = detail::thread_spares<Buffer>();
    if (spares.size() < spare_limits::kSparesPerThread &&
        buffer.capacity() * sizeof(typename Buffer::value_type) <= spare_limits::kLargestSpareBytes) {
        spares.push_back(std::move(buffer));
    }
    Buffer().swap(buffer);
}

}  // namespace sharegate::server
