// Counts the heap allocations a test's own thread makes. A test binary that uses it
// compiles allocation_count.cpp too, which replaces the global operator new and delete:
// every allocation goes through there, counted only on a thread that holds an
// AllocationCount.
#pragma once

#include <cstddef>

namespace sharegate::test {

extern thread_local bool counting_allocations;
extern thread_local std::size_t allocations;

// Counts the allocations made on this thread while it lives.
class AllocationCount {
public:
    AllocationCount() {
        allocations = 0;
        counting_allocations = true;
    }
    ~AllocationCount() { counting_allocations = false; }
    AllocationCount(const AllocationCount&) = delete;
    AllocationCount& operator=(const AllocationCount&) = delete;
    std::size_t made() const { return allocations; }
};

}  // namespace sharegate::test
