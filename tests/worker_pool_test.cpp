#include "worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sharegate_test {
namespace {

using sharegate::host::WorkerPool;

// Counts calls per piece; also notes a piece index out of range instead of writing past the end.
struct CallCounter {
    explicit CallCounter(unsigned n) : calls(n) {}
    void operator()(unsigned piece) {
        if (piece >= calls.size()) {
            out_of_range.fetch_add(1);
            return;
        }
        calls[piece].fetch_add(1);
    }
    std::vector<std::atomic<int>> calls;
    std::atomic<int> out_of_range{0};
};

TEST(WorkerPoolTest, ZeroWorkersMeansOne) {
    WorkerPool pool(0);
    EXPECT_EQ(pool.workers(), 1u);
    int calls = 0;
    pool.run(1, [&](unsigned piece) {
        EXPECT_EQ(piece, 0u);
        ++calls;
    });
    EXPECT_EQ(calls, 1);
}

TEST(WorkerPoolTest, EveryPieceRunsExactlyOnce) {
    for (unsigned workers : {1u, 2u, 3u, 4u, 8u}) {
        WorkerPool pool(workers);
        ASSERT_EQ(pool.workers(), workers);
        for (unsigned pieces = 1; pieces <= workers; ++pieces) {
            CallCounter counter(workers);
            pool.run(pieces, [&](unsigned piece) { counter(piece); });
            EXPECT_EQ(counter.out_of_range.load(), 0);
            for (unsigned piece = 0; piece < workers; ++piece) {
                EXPECT_EQ(counter.calls[piece].load(), piece < pieces ? 1 : 0)
                    << workers << " workers, " << pieces << " pieces, piece " << piece;
            }
        }
    }
}

TEST(WorkerPoolTest, ZeroPiecesRunsNothing) {
    WorkerPool pool(3);
    std::atomic<int> calls{0};
    pool.run(0, [&](unsigned) { calls.fetch_add(1); });
    EXPECT_EQ(calls.load(), 0);
}

TEST(WorkerPoolTest, PieceZeroRunsOnTheCallingThread) {
    WorkerPool pool(4);
    std::vector<std::thread::id> ids(4);
    pool.run(4, [&](unsigned piece) { ids[piece] = std::this_thread::get_id(); });
    EXPECT_EQ(ids[0], std::this_thread::get_id());
    for (unsigned i = 1; i < 4; ++i) {
        EXPECT_NE(ids[i], std::this_thread::get_id()) << "piece " << i;
        for (unsigned j = 1; j < i; ++j) EXPECT_NE(ids[i], ids[j]) << "pieces " << j << " and " << i;
    }
}

TEST(WorkerPoolTest, PiecesRunConcurrently) {
    // Each piece waits (bounded) for all the others to arrive: a pool that ran the
    // pieces one after another would time out here instead of hanging.
    constexpr unsigned kPieces = 4;
    WorkerPool pool(kPieces);
    std::mutex mutex;
    std::condition_variable all_arrived;
    unsigned arrived = 0;
    std::atomic<unsigned> saw_everyone{0};
    pool.run(kPieces, [&](unsigned) {
        std::unique_lock lock(mutex);
        if (++arrived == kPieces) all_arrived.notify_all();
        if (all_arrived.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == kPieces; })) {
            saw_everyone.fetch_add(1);
        }
    });
    EXPECT_EQ(saw_everyone.load(), kPieces);
}

TEST(WorkerPoolTest, ManyConsecutiveRuns) {
    WorkerPool pool(4);
    CallCounter counter(4);
    std::vector<int> expected(4, 0);
    for (int run = 0; run < 5000; ++run) {
        const unsigned pieces = 1 + static_cast<unsigned>(run % 4);
        pool.run(pieces, [&](unsigned piece) { counter(piece); });
        for (unsigned piece = 0; piece < pieces; ++piece) ++expected[piece];
        // Every piece of this run has finished when run() returns.
        if (run % 997 == 0) {
            for (unsigned piece = 0; piece < 4; ++piece) ASSERT_EQ(counter.calls[piece].load(), expected[piece]);
        }
    }
    EXPECT_EQ(counter.out_of_range.load(), 0);
    for (unsigned piece = 0; piece < 4; ++piece) EXPECT_EQ(counter.calls[piece].load(), expected[piece]);
}

TEST(WorkerPoolTest, RunReturnsOnlyAfterEveryPieceFinished) {
    WorkerPool pool(3);
    for (int run = 0; run < 200; ++run) {
        std::atomic<int> finished{0};
        pool.run(3, [&](unsigned piece) {
            if (piece != 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
            finished.fetch_add(1);
        });
        ASSERT_EQ(finished.load(), 3) << "run " << run;
    }
}

TEST(WorkerPoolTest, MorePiecesThanWorkersThrows) {
    WorkerPool pool(2);
    std::atomic<int> calls{0};
    EXPECT_THROW(pool.run(3, [&](unsigned) { calls.fetch_add(1); }), std::logic_error);
    EXPECT_EQ(calls.load(), 0);
    // The pool is still usable afterwards.
    pool.run(2, [&](unsigned) { calls.fetch_add(1); });
    EXPECT_EQ(calls.load(), 2);
}

TEST(WorkerPoolTest, CallersOnSeveralThreadsAreSerialised) {
    WorkerPool pool(3);
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> calls{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < 3; ++c) {
        callers.emplace_back([&] {
            for (int run = 0; run < 300; ++run) {
                pool.run(3, [&](unsigned piece) {
                    if (piece == 0) {
                        // Only one run at a time, so piece 0 of two runs never overlaps.
                        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                        std::this_thread::yield();
                        inside.fetch_sub(1);
                    }
                    calls.fetch_add(1);
                });
            }
        });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(calls.load(), 3 * 300 * 3);
}

TEST(WorkerPoolTest, AnExceptionReachesTheCallerAfterEveryPieceEnds) {
    WorkerPool pool(4);
    for (unsigned thrower : {0u, 3u}) {
        std::atomic<int> finished{0};
        EXPECT_THROW(pool.run(4,
                              [&](unsigned piece) {
                                  if (piece == thrower) throw std::runtime_error("piece failed");
                                  std::this_thread::sleep_for(std::chrono::milliseconds(20));
                                  finished.fetch_add(1);
                              }),
                     std::runtime_error);
        // run() may only return once no piece still uses the caller's task.
        EXPECT_EQ(finished.load(), 3) << "thrower " << thrower;
    }
    CallCounter counter(4);  // the pool still works afterwards
    pool.run(4, std::ref(counter));
    for (auto& calls : counter.calls) EXPECT_EQ(calls.load(), 1);
}

TEST(WorkerPoolTest, StartsAndStopsQuickly) {
    for (int i = 0; i < 100; ++i) {
        auto pool = std::make_unique<WorkerPool>(1 + i % 5);
        if (i % 2 == 0) {
            std::atomic<unsigned> calls{0};
            pool->run(pool->workers(), [&](unsigned) { calls.fetch_add(1); });
            EXPECT_EQ(calls.load(), pool->workers());
        }
        // Destroying a pool whose workers are parked (or were never used) must not hang.
    }
}

}  // namespace
}  // namespace sharegate_test
