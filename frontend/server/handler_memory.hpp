// Memory for one asynchronous operation at a time, kept in the object that starts it
// (Size bytes: what the operation needs, see Session).
//
// Asio allocates every operation it starts (the handler and its bookkeeping) through
// the handler's associated allocator; the default one recycles a single block a
// thread, so with a few dozen connections waiting on one thread each new wait is a
// malloc and its completion a free. A session has at most one read wait (and one
// write) in flight, so a block of its own for each removes those from a submit's path:
// bind the handler with `with_memory(memory, handler)`. Asio frees an operation's
// memory before it calls the handler, so the handler may start the next operation in
// the same block. Larger requests, or a second one while the block is taken, fall back
// to operator new. Only an executor that takes the handler's allocator honours it: a
// socket's own operations and asio::post on a concrete io_context executor do, a post on
// the type-erased any_io_executor does not (Boost 1.74).
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace sharegate::server {

template <std::size_t Size>
class HandlerMemory {
public:
    HandlerMemory() = default;
    HandlerMemory(const HandlerMemory&) = delete;
    HandlerMemory& operator=(const HandlerMemory&) = delete;

    void* allocate(std::size_t size) {
        if (!in_use_ && size <= sizeof storage_) {
            in_use_ = true;
            return storage_;
        }
        return ::operator new(size);
    }
    void deallocate(void* pointer) {
        if (pointer == storage_) {
            in_use_ = false;
            return;
        }
        ::operator delete(pointer);
    }

    bool in_use() const { return in_use_; }

private:
    alignas(std::max_align_t) unsigned char storage_[Size];
    bool in_use_ = false;
};

template <typename T, std::size_t Size>
class HandlerAllocator {
public:
    using value_type = T;
    template <typename U>
    struct rebind {  // spelled out: allocator_traits cannot rebind past the size parameter
        using other = HandlerAllocator<U, Size>;
    };

    explicit HandlerAllocator(HandlerMemory<Size>& memory) : memory_(&memory) {}
    template <typename U>
    HandlerAllocator(const HandlerAllocator<U, Size>& other) noexcept : memory_(other.memory_) {}

    T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
    void deallocate(T* pointer, std::size_t) { memory_->deallocate(pointer); }

    template <typename U>
    friend bool operator==(const HandlerAllocator& a, const HandlerAllocator<U, Size>& b) noexcept {
        return a.memory_ == b.memory_;
    }

private:
    template <typename, std::size_t>
    friend class HandlerAllocator;
    HandlerMemory<Size>* memory_;
};

// A handler that asio allocates in `memory` (Boost 1.74 has no bind_allocator yet).
template <typename Handler, std::size_t Size>
class WithMemory {
public:
    using allocator_type = HandlerAllocator<Handler, Size>;

    WithMemory(HandlerMemory<Size>& memory, Handler handler) : memory_(&memory), handler_(std::move(handler)) {}

    allocator_type get_allocator() const noexcept { return allocator_type(*memory_); }

    template <typename... Args>
    void operator()(Args&&... args) {
        handler_(std::forward<Args>(args)...);
    }

private:
    HandlerMemory<Size>* memory_;
    Handler handler_;
};

template <std::size_t Size, typename Handler>
WithMemory<Handler, Size> with_memory(HandlerMemory<Size>& memory, Handler handler) {
    return WithMemory<Handler, Size>(memory, std::move(handler));
}

}  // namespace sharegate::server
