// Counts the heap allocations a test's own thread makes. A test binary that uses it
// compiles allocation_count.cpp too, which replaces the global operator new and delete:
// every allocation goes through there, counted only on a thread that holds an
// AllocationCount.
#pragma once

#include <cstddef>

namespace sharegate::test {

// The count itself lives in allocation_count.cpp, in thread_local variables of that file
// alone: an extern thread_local read from here goes through a TLS wrapper that GCC 12's
// UBSan takes for a null pointer.
void start_counting_allocations();  // from zero, on this thread
void stop_counting_allocations();
std::size_t allocations_counted();  // on this thread, since the start

// Counts the allocations made on this thread while it lives.
class AllocationCount {
public:
    AllocationCount() { start_counting_allocations(); }
    ~AllocationCount() { stop_counting_allocations(); }
    AllocationCount(const AllocationCount&) = delete;
    AllocationCount& operator=(const AllocationCount&) = delete;
    std::size_t made() const { return allocations_counted(); }
};

}  // namespace sharegate::test
