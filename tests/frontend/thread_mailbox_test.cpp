// ThreadMailbox: work from a thread that runs no io_context reaches the context's thread
// in order, a burst of it as one post, without allocating once its lists have grown; what
// was never run is dropped at shutdown.
#include "server/thread_mailbox.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "allocation_count.hpp"
#include "server/asio.hpp"

namespace sharegate::server {
namespace {

namespace asio = boost::asio;

TEST(ThreadMailbox, RunsAnotherThreadsWorkOnTheContextsThreadInOrder) {
    asio::io_context io(1);
    auto guard = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    const std::thread::id runner_id = runner.get_id();
    auto& mailbox = asio::use_service<ThreadMailbox>(io);
    constexpr int kWorks = 1000;
    std::vector<int> order;  // the runner's only
    bool all_on_runner = true;
    for (int i = 0; i < kWorks; ++i) {
        mailbox.add([&, i] {
            order.push_back(i);
            all_on_runner = all_on_runner && std::this_thread::get_id() == runner_id;
        });
    }
    guard.reset();
    runner.join();  // the work guard gone, run() returns once everything queued has run
    ASSERT_EQ(order.size(), static_cast<std::size_t>(kWorks));
    for (int i = 0; i < kWorks; ++i) EXPECT_EQ(order[i], i);
    EXPECT_TRUE(all_on_runner);
}

// What is added before the context's thread takes the list rides on the first addition's
// post (io_context::run counts the handlers it ran), so it runs ahead of a handler posted
// in between.
TEST(ThreadMailbox, ABurstIsOnePost) {
    asio::io_context io(1);
    auto& mailbox = asio::use_service<ThreadMailbox>(io);
    std::string ran;
    mailbox.add([&] { ran += "1"; });
    asio::post(io, [&] { ran += "m"; });
    mailbox.add([&] { ran += "2"; });
    mailbox.add([&] { ran += "3"; });
    EXPECT_EQ(io.run(), 2u);  // the mailbox's one post and the handler in between
    EXPECT_EQ(ran, "123m");
    // Taken: the next addition is a post of its own, behind what is queued by then.
    io.restart();
    mailbox.add([&] { ran += "4"; });
    asio::post(io, [&] { ran += "n"; });
    mailbox.add([&] { ran += "5"; });
    EXPECT_EQ(io.run(), 2u);
    EXPECT_EQ(ran, "123m45n");
}

TEST(ThreadMailbox, WorkAddedByWorkRunsInALaterTurn) {
    asio::io_context io(1);
    auto& mailbox = asio::use_service<ThreadMailbox>(io);
    std::string ran;
    mailbox.add([&] {
        ran += "a";
        asio::post(io, [&] { ran += "m"; });
        mailbox.add([&] { ran += "b"; });  // behind the handler queued before it
    });
    io.run();
    EXPECT_EQ(ran, "amb");
}

// Nothing on the heap per burst: neither the lists (two, taking turns) nor the post (built
// in the mailbox's own block).
TEST(ThreadMailbox, AddsAndRunsWithoutAllocatingOnceItsListsHaveGrown) {
    asio::io_context io(1);
    auto& mailbox = asio::use_service<ThreadMailbox>(io);
    int ran = 0;
    const auto burst = [&] {
        for (int i = 0; i < 16; ++i) mailbox.add([&ran] { ++ran; });
        io.restart();
        io.run();
    };
    burst();  // grows one list
    burst();  // and the other
    {
        test::AllocationCount count;
        burst();
        burst();
        EXPECT_EQ(count.made(), 0u);
    }
    EXPECT_EQ(ran, 64);
}

TEST(ThreadMailbox, ShutdownDropsWhatNeverRan) {
    auto held = std::make_shared<int>(7);
    bool ran = false;
    {
        asio::io_context io(1);
        asio::use_service<ThreadMailbox>(io).add([held, &ran] { ran = ran || *held == 7; });
        EXPECT_EQ(held.use_count(), 2);
    }
    EXPECT_FALSE(ran);
    EXPECT_EQ(held.use_count(), 1);
}

}  // namespace
}  // namespace sharegate::server
