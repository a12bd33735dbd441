// The replaced global operator new and delete behind AllocationCount (allocation_count.hpp).
// In a file of its own, so that no test's code sees these definitions to inline them.
#include "allocation_count.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local std::size_t counted = 0;
}  // namespace

namespace sharegate::test {
void start_counting_allocations() {
    counted = 0;
    counting = true;
}
void stop_counting_allocations() { counting = false; }
std::size_t allocations_counted() { return counted; }
}  // namespace sharegate::test

void* operator new(std::size_t size) {
    if (counting) ++counted;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
