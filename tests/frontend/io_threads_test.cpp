// The I/O threads (server/io_threads.hpp): one thread per context, connections dealt in
// turn, and a stop that joins.
#include "server/io_threads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using sharegate::server::IoThreads;

TEST(IoThreadsTest, ZeroThreadsMeansOne) {
    IoThreads threads(0);
    EXPECT_EQ(threads.size(), 1u);
    EXPECT_EQ(&threads.next(), &threads.main());
}

TEST(IoThreadsTest, NextDealsTheContextsInTurn) {
    IoThreads threads(3);
    std::map<const asio::io_context*, int> dealt;
    std::vector<const asio::io_context*> order;
    for (int i = 0; i < 9; ++i) {
        const asio::io_context* context = &threads.next();
        ++dealt[context];
        order.push_back(context);
    }
    ASSERT_EQ(dealt.size(), 3u);
    for (const auto& [context, count] : dealt) EXPECT_EQ(count, 3);
    for (std::size_t i = 3; i < order.size(); ++i) EXPECT_EQ(order[i], order[i - 3]) << i;
    EXPECT_TRUE(dealt.contains(&threads.main()));
}

// What a session relies on instead of a strand: every handler of one context, posted from
// any thread, runs on that context's one thread, and no two contexts share a thread.
TEST(IoThreadsTest, EachContextRunsOnOneThreadOfItsOwn) {
    constexpr int kContexts = 3;
    constexpr int kPostsPerPoster = 200;
    IoThreads threads(kContexts);
    std::vector<asio::io_context*> contexts;
    for (int i = 0; i < kContexts; ++i) contexts.push_back(&threads.next());
    threads.start();

    std::mutex mutex;
    std::map<asio::io_context*, std::set<std::thread::id>> ran_on;
    std::atomic<int> left{kContexts * kPostsPerPoster * 2};
    std::promise<void> all_ran;
    auto poster = [&] {
        for (int i = 0; i < kPostsPerPoster; ++i) {
            for (asio::io_context* context : contexts) {
                asio::post(*context, [&, context] {
                    {
                        std::lock_guard lock(mutex);
                        ran_on[context].insert(std::this_thread::get_id());
                    }
                    if (left.fetch_sub(1) == 1) all_ran.set_value();
                });
            }
        }
    };
    std::thread first(poster);
    std::thread second(poster);
    first.join();
    second.join();
    ASSERT_EQ(all_ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    threads.stop();

    std::set<std::thread::id> all;
    for (asio::io_context* context : contexts) {
        ASSERT_EQ(ran_on[context].size(), 1u);
        all.insert(*ran_on[context].begin());
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kContexts));
    EXPECT_FALSE(all.contains(std::this_thread::get_id()));
}

// The threads keep running while idle (a server with no connections yet), and stop() ends
// them: twice is harmless, and what is posted afterwards does not run.
TEST(IoThreadsTest, RunsWhileIdleUntilStopped) {
    IoThreads threads(2);
    threads.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // no work: still running
    std::promise<void> ran;
    asio::post(threads.main(), [&] { ran.set_value(); });
    ASSERT_EQ(ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    threads.stop();
    threads.stop();
    std::atomic<bool> late{false};
    asio::post(threads.main(), [&] { late = true; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(late.load());
}

}  // namespace
