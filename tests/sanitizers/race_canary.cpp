// Races on purpose, in a function of ours: the ThreadSanitizer build must report it (ctest
// expects the failure), which proves that the suite's TSan options and
// tests/sanitizers/tsan.supp leave our own code covered.
#include <cstdio>
#include <thread>

long sharegate_race_canary_counter = 0;

[[gnu::noinline]] void sharegate_race_canary_bump() {
    for (int i = 0; i < 1000; ++i) ++sharegate_race_canary_counter;  // unsynchronised on purpose
}

int main() {
    std::thread a(sharegate_race_canary_bump);
    std::thread b(sharegate_race_canary_bump);
    a.join();
    b.join();
    std::printf("counter %ld\n", sharegate_race_canary_counter);
    return 0;
}
