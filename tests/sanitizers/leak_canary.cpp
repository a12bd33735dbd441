// Leaks on purpose, from a function of ours: under LeakSanitizer with the project's
// suppressions this must be reported (ctest expects the failure). It proves that
// tests/sanitizers/lsan.supp covers only the third-party libraries it names.
#include <cstdio>
#include <cstring>

// Not static and not inlined, so that the report names it.
[[gnu::noinline]] char* sharegate_leak_canary_allocate(std::size_t bytes) {
    char* block = new char[bytes];
    std::memset(block, 0x5a, bytes);
    return block;
}

// Reachable through this volatile global only while main runs: a leak once it is cleared.
char* volatile sharegate_leak_canary_holder = nullptr;

int main() {
    sharegate_leak_canary_holder = sharegate_leak_canary_allocate(4096);
    std::printf("leaked %d bytes at %p\n", 4096, static_cast<void*>(sharegate_leak_canary_holder));
    sharegate_leak_canary_holder = nullptr;
    return 0;
}
