// The getwork miners' varDiff cache (server/var_diff_cache.hpp) against a fake Redis
// lookup the test answers by hand, on a real io_context.
#include "server/var_diff_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using sharegate::server::VarDiffCache;
using namespace std::chrono_literals;

// Holds every lookup until the test answers it.
class FakeRedis {
public:
    using Answer = std::function<void(std::optional<std::uint64_t>)>;
    VarDiffCache::Lookup lookup() {
        return [this](const std::string& miner, Answer answer) {
            std::lock_guard lock(mutex_);
            asked_.push_back(miner);
            pending_.emplace(miner, std::move(answer));
            changed_.notify_all();
        };
    }
    // Answers the oldest lookup of `miner`; false when none came within 5 s.
    bool answer(const std::string& miner, std::optional<std::uint64_t> value) {
        Answer answer;
        {
            std::unique_lock lock(mutex_);
            if (!changed_.wait_for(lock, 5s, [&] { return pending_.count(miner) != 0; })) return false;
            auto it = pending_.find(miner);
            answer = std::move(it->second);
            pending_.erase(it);
        }
        answer(value);
        return true;
    }
    std::size_t asked(const std::string& miner) {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(std::count(asked_.begin(), asked_.end(), miner));
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> asked_;
    std::multimap<std::string, Answer> pending_;
};

// What a get() answered, waited for.
class Result {
public:
    VarDiffCache::Done done() {
        return [this](std::uint64_t value) {
            std::lock_guard lock(mutex_);
            values_.push_back(value);
            changed_.notify_all();
        };
    }
    std::optional<std::uint64_t> wait(std::size_t index = 0, std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, timeout, [&] { return values_.size() > index; })) return std::nullopt;
        return values_[index];
    }
    std::size_t count() {
        std::lock_guard lock(mutex_);
        return values_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::uint64_t> values_;
};

class VarDiffCacheTest : public ::testing::Test {
protected:
    // The I/O thread stops before the caches go: a lookup or refresh a test's last get()
    // started may still be queued there, and its handlers point at their cache.
    void TearDown() override {
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
        caches_.clear();
    }
    VarDiffCache* make(VarDiffCache::Settings settings) {
        caches_.push_back(std::make_unique<VarDiffCache>(io_, redis_.lookup(), settings));
        if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
        return caches_.back().get();
    }
    static VarDiffCache::Settings settings() {
        VarDiffCache::Settings s;
        s.minimum = 2;
        s.when_unknown = 4000;
        s.wait = 300ms;
        s.refresh_after = std::chrono::seconds(600);
        s.max_entries = 100;
        return s;
    }

    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io_.get_executor()};
    std::thread thread_;
    FakeRedis redis_;
    std::vector<std::unique_ptr<VarDiffCache>> caches_;
};

const std::string kA = "0x00000000000000000000000000000000000000a1";
const std::string kB = "0x00000000000000000000000000000000000000b2";

TEST_F(VarDiffCacheTest, FirstGetWaitsForRedisAndLaterOnesAnswerAtOnce) {
    auto cache = make(settings());
    Result first;
    cache->get(kA, first.done());
    EXPECT_EQ(first.count(), 0u) << "answered before Redis did";
    ASSERT_TRUE(redis_.answer(kA, 872));
    EXPECT_EQ(first.wait(), 872u);
    Result second;
    cache->get(kA, second.done());
    EXPECT_EQ(second.count(), 1u) << "a known miner waited";
    EXPECT_EQ(second.wait(), 872u);
    EXPECT_EQ(redis_.asked(kA), 1u);
}

TEST_F(VarDiffCacheTest, ConcurrentGetsOfOneMinerShareOneLookup) {
    auto cache = make(settings());
    std::vector<Result> results(10);
    for (auto& result : results) cache->get(kA, result.done());
    ASSERT_TRUE(redis_.answer(kA, 16));
    for (auto& result : results) EXPECT_EQ(result.wait(), 16u);
    EXPECT_EQ(redis_.asked(kA), 1u);
}

TEST_F(VarDiffCacheTest, NoUsableVarDiffIsThePoolMinimum) {
    auto cache = make(settings());
    Result none, low;
    cache->get(kA, none.done());
    cache->get(kB, low.done());
    ASSERT_TRUE(redis_.answer(kA, std::nullopt));
    ASSERT_TRUE(redis_.answer(kB, 1));
    EXPECT_EQ(none.wait(), 2u);
    EXPECT_EQ(low.wait(), 2u);
}

// Redis away: a new miner gets the default after the wait, and the late answer, when it
// comes, replaces it.
TEST_F(VarDiffCacheTest, SilentRedisGivesTheDefaultThenTheLateAnswer) {
    auto cache = make(settings());
    Result first;
    cache->get(kA, first.done());
    EXPECT_EQ(first.wait(0, 5000ms), 4000u);
    ASSERT_TRUE(redis_.answer(kA, 64));
    const auto until = std::chrono::steady_clock::now() + 5s;
    std::optional<std::uint64_t> now;
    do {
        std::this_thread::sleep_for(10ms);
        Result probe;
        cache->get(kA, probe.done());
        now = probe.wait(0, 1000ms);
    } while (now != 64u && std::chrono::steady_clock::now() < until);
    EXPECT_EQ(now, 64u);
    EXPECT_EQ(redis_.asked(kA), 1u) << "asked again within retry_after";
}

// An old entry answers at once with what it holds, and is looked up again behind it; if
// Redis does not answer, the miner keeps its value rather than fall to the default.
TEST_F(VarDiffCacheTest, StaleEntryAnswersAtOnceAndIsRefreshed) {
    auto s = settings();
    s.refresh_after = std::chrono::seconds(0);
    s.retry_after = std::chrono::seconds(0);
    auto cache = make(s);
    Result first;
    cache->get(kA, first.done());
    ASSERT_TRUE(redis_.answer(kA, 100));
    EXPECT_EQ(first.wait(), 100u);
    Result second;
    cache->get(kA, second.done());
    EXPECT_EQ(second.count(), 1u);
    EXPECT_EQ(second.wait(), 100u);
    std::this_thread::sleep_for(s.wait + 200ms);  // the refresh's wait passes unanswered
    Result third;
    cache->get(kA, third.done());
    EXPECT_EQ(third.wait(), 100u) << "a known miner fell to the default while Redis was silent";
    // Two refreshes are out (the one that timed out and the third get's); the older answer
    // is ignored while the newer runs, the newer one counts.
    ASSERT_TRUE(redis_.answer(kA, 150));
    ASSERT_TRUE(redis_.answer(kA, 200));
    const auto until = std::chrono::steady_clock::now() + 5s;
    std::optional<std::uint64_t> now;
    do {
        std::this_thread::sleep_for(10ms);
        Result probe;
        cache->get(kA, probe.done());
        now = probe.wait();
    } while (now != 200u && std::chrono::steady_clock::now() < until);
    EXPECT_EQ(now, 200u);
}

TEST_F(VarDiffCacheTest, UpdatesApplyToKnownMinersOnly) {
    auto cache = make(settings());
    Result first;
    cache->get(kA, first.done());
    ASSERT_TRUE(redis_.answer(kA, 8));
    ASSERT_EQ(first.wait(), 8u);
    cache->update(kA, 512);
    cache->update(kB, 512);  // never asked about here: not kept
    Result after;
    cache->get(kA, after.done());
    EXPECT_EQ(after.wait(), 512u);
    EXPECT_EQ(cache->size(), 1u);
    cache->update(kA, 1);  // below the pool minimum
    Result low;
    cache->get(kA, low.done());
    EXPECT_EQ(low.wait(), 2u);
}

TEST_F(VarDiffCacheTest, TheBoundDropsTheLeastRecentlyUsed) {
    auto s = settings();
    s.max_entries = 3;
    auto cache = make(s);
    const std::vector<std::string> miners = {kA, kB, "0x00000000000000000000000000000000000000c3",
                                             "0x00000000000000000000000000000000000000d4"};
    for (std::size_t i = 0; i < 3; ++i) {
        Result r;
        cache->get(miners[i], r.done());
        ASSERT_TRUE(redis_.answer(miners[i], 10 + i));
        ASSERT_TRUE(r.wait());
    }
    Result touch;
    cache->get(kA, touch.done());  // kA is now the most recent; kB the least
    ASSERT_TRUE(touch.wait());
    Result fourth;
    cache->get(miners[3], fourth.done());
    ASSERT_TRUE(redis_.answer(miners[3], 13));
    ASSERT_TRUE(fourth.wait());
    EXPECT_EQ(cache->size(), 3u);
    Result again_a, again_b;
    cache->get(kA, again_a.done());
    EXPECT_EQ(again_a.count(), 1u) << "the most recent entry was dropped";
    cache->get(kB, again_b.done());
    EXPECT_EQ(again_b.count(), 0u) << "the least recent entry was kept";
    ASSERT_TRUE(redis_.answer(kB, 11));
    EXPECT_EQ(again_b.wait(), 11u);
    EXPECT_EQ(redis_.asked(kB), 2u);
}

}  // namespace
