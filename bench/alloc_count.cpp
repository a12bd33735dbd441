// Counts the heap allocations of the process it is preloaded into, for
// `PERF=allocs bench/run-cpu.sh`: LD_PRELOAD=libsharegate-alloc-count.so, and at exit the
// process writes "<allocations> <frees>" to $SHAREGATE_ALLOC_COUNT_DIR/allocs.<pid>.
// Every allocation function of glibc's is wrapped around its __libc_ twin; the count is
// one relaxed atomic add, so the process runs at nearly its usual speed.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}

namespace {
std::atomic<unsigned long> allocations{0};
std::atomic<unsigned long> frees{0};
void count_allocation() { allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {
void* malloc(std::size_t size) {
    count_allocation();
    return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
    count_allocation();
    return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
    count_allocation();
    return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
    count_allocation();
    return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
    count_allocation();
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
    count_allocation();
    void* p = __libc_memalign(alignment, size);
    if (p == nullptr) return 12;  // ENOMEM
    *out = p;
    return 0;
}
void free(void* p) {
    if (p != nullptr) frees.fetch_add(1, std::memory_order_relaxed);
    __libc_free(p);
}
}

// At exit: the counts, under the process's own pid (every process the preload reaches
// writes its own file, and the caller reads the server's).
__attribute__((destructor)) static void write_counts() {
    const char* dir = std::getenv("SHAREGATE_ALLOC_COUNT_DIR");
    if (dir == nullptr) return;
    const std::string path = std::string(dir) + "/allocs." + std::to_string(::getpid());
    if (std::FILE* out = std::fopen(path.c_str(), "w")) {
        std::fprintf(out, "%lu %lu\n", allocations.load(), frees.load());
        std::fclose(out);
    }
}
