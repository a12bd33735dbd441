// The invariant check of the fuzz targets: unlike assert() it holds in every build type
// (RelWithDebInfo defines NDEBUG), and it aborts, which both libFuzzer and the replay
// runner report as a failure with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SHAREGATE_FUZZ_CHECK(condition)                                                                   \
    do {                                                                                                  \
        if (!(condition)) {                                                                               \
            std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                                 \
        }                                                                                                 \
    } while (false)
