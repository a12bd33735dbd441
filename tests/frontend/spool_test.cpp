// The spool against real files: group commit, replay after reopen, torn and corrupt
// segments on disk, segment deletion, the size bound and requeue order.
#include "spool/spool.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "spool/record_format.hpp"

namespace sharegate::spool {
namespace {

namespace fs = std::filesystem;

class LogSink {
public:
    std::function<void(sharegate::spool::Severity, std::string)> callback() {
        return [this](sharegate::spool::Severity, std::string line) {
            std::lock_guard lock(mutex_);
            lines_.push_back(std::move(line));
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    std::size_t count_containing(const std::string& text) const {
        std::lock_guard lock(mutex_);
        return std::count_if(lines_.begin(), lines_.end(),
                             [&](const std::string& line) { return line.find(text) != std::string::npos; });
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

class SpoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "spool-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }

    Options options() {
        Options options;
        options.log = log_.callback();
        return options;
    }

    std::unique_ptr<Spool> open_spool(const fs::path& dir, Options options) {
        auto opened = Spool::open(dir, std::move(options));
        if (auto* error = std::get_if<std::string>(&opened)) {
            ADD_FAILURE() << *error;
            return nullptr;
        }
        return std::move(std::get<std::unique_ptr<Spool>>(opened));
    }

    static bool append_and_wait(Spool& spool, std::string payload) {
        std::promise<bool> answered;
        auto answer = answered.get_future();
        spool.append(std::move(payload), [&answered](bool durable) { answered.set_value(durable); });
        return answer.get();
    }

    static std::vector<std::string> payloads(const std::vector<Entry>& entries) {
        std::vector<std::string> out;
        for (const Entry& entry : entries) out.push_back(entry.payload);
        return out;
    }

    static std::vector<std::string> files_in(const fs::path& dir) {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

    static std::vector<std::string> segments_in(const fs::path& dir) {
        auto names = files_in(dir);
        names.erase(std::remove_if(names.begin(), names.end(),
                                   [](const std::string& name) { return !name.ends_with(".spool"); }),
                    names.end());
        return names;
    }

    static void write_file(const fs::path& path, const std::string& bytes) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes;
    }

    fs::path root_;
    LogSink log_;
};

TEST_F(SpoolTest, OpenCreatesTheDirectoryWithOneEmptySegment) {
    const fs::path dir = root_ / "a" / "spool";
    auto spool = open_spool(dir, options());
    ASSERT_TRUE(spool);
    EXPECT_EQ(segments_in(dir), std::vector<std::string>{"000000000001.spool"});
    EXPECT_TRUE(spool->next(10).empty());
    const Stats stats = spool->stats();
    EXPECT_EQ(stats.records_waiting, 0U);
    EXPECT_EQ(stats.bytes, kSegmentHeaderSize);
    EXPECT_FALSE(stats.oldest.has_value());
}

TEST_F(SpoolTest, OpenUnderARegularFileFailsWithOneLine) {
    // Tests run as root, where a chmod'ed directory stays writable: a path under a regular
    // file cannot be created by anyone.
    const fs::path file = root_ / "plain-file";
    write_file(file, "x");
    auto opened = Spool::open(file / "spool", options());
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    const std::string& error = std::get<std::string>(opened);
    EXPECT_NE(error.find((file / "spool").string()), std::string::npos) << error;
    EXPECT_NE(error.find("Not a directory"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST_F(SpoolTest, OpenInAnUnwritableDirectoryFails) {
    auto opened = Spool::open("/proc/self", options());
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_NE(std::get<std::string>(opened).find("/proc/self"), std::string::npos) << std::get<std::string>(opened);
}

TEST_F(SpoolTest, SecondOpenOfTheSameDirectoryIsRefused) {
    auto first = open_spool(root_ / "spool", options());
    ASSERT_TRUE(first);
    auto second = Spool::open(root_ / "spool", options());
    ASSERT_TRUE(std::holds_alternative<std::string>(second));
    EXPECT_NE(std::get<std::string>(second).find("in use"), std::string::npos) << std::get<std::string>(second);
}

TEST_F(SpoolTest, AppendedRecordsComeBackInAppendOrder) {
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    for (const char* payload : {"one", "two", "three"}) EXPECT_TRUE(append_and_wait(*spool, payload));
    const auto entries = spool->next(10);
    EXPECT_EQ(payloads(entries), (std::vector<std::string>{"one", "two", "three"}));
    ASSERT_EQ(entries.size(), 3U);
    EXPECT_LT(entries[0].id, entries[1].id);
    EXPECT_LT(entries[1].id, entries[2].id);
    EXPECT_TRUE(spool->next(10).empty());
    const Stats stats = spool->stats();
    EXPECT_EQ(stats.records_waiting, 3U);
    EXPECT_EQ(stats.appended_total, 3U);
    EXPECT_EQ(stats.bytes, kSegmentHeaderSize + encode_record("one").size() + encode_record("two").size() +
                               encode_record("three").size());
    EXPECT_TRUE(stats.oldest.has_value());
}

TEST_F(SpoolTest, GroupCommitAnswersEveryAppendOnceWithFewerSyncsThanAppends) {
    Options opts = options();
    opts.group_window = std::chrono::milliseconds(200);
    auto spool = open_spool(root_ / "spool", opts);
    ASSERT_TRUE(spool);
    constexpr int kThreads = 4;
    constexpr int kPerThread = 250;
    std::vector<std::atomic<int>> answered_true(kThreads * kPerThread);
    std::atomic<int> answered_false{0};
    std::atomic<int> outstanding{kThreads * kPerThread};
    std::promise<void> all_answered;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const int index = t * kPerThread + i;
                spool->append("thread " + std::to_string(t) + " share " + std::to_string(i), [&, index](bool durable) {
                    (durable ? answered_true[index] : answered_false) += 1;
                    if (--outstanding == 0) all_answered.set_value();
                });
            }
        });
    }
    for (auto& thread : threads) thread.join();
    all_answered.get_future().wait();
    EXPECT_EQ(answered_false.load(), 0);
    for (int index = 0; index < kThreads * kPerThread; ++index) ASSERT_EQ(answered_true[index].load(), 1) << index;
    const Stats stats = spool->stats();
    EXPECT_EQ(stats.appended_total, std::uint64_t{kThreads * kPerThread});
    EXPECT_GE(stats.groups_synced, 1U);
    EXPECT_LT(stats.groups_synced, std::uint64_t{kThreads * kPerThread});

    // Each thread's records come back in its own order.
    const auto entries = spool->next(kThreads * kPerThread + 1);
    ASSERT_EQ(entries.size(), std::size_t{kThreads * kPerThread});
    std::vector<int> next_of_thread(kThreads, 0);
    for (const Entry& entry : entries) {
        const int thread = entry.payload[7] - '0';
        EXPECT_EQ(entry.payload,
                  "thread " + std::to_string(thread) + " share " + std::to_string(next_of_thread[thread]++));
    }
}

TEST_F(SpoolTest, CloseWritesPendingGroupsAndReopenReplaysThem) {
    Options opts = options();
    opts.group_window = std::chrono::hours(1);  // only close() ends the group
    auto spool = open_spool(root_ / "spool", opts);
    ASSERT_TRUE(spool);
    std::vector<int> answers;
    for (const char* payload : {"a", "b", "c"})
        spool->append(payload, [&answers](bool durable) { answers.push_back(durable ? 1 : 0); });
    spool->close();
    EXPECT_EQ(answers, (std::vector<int>{1, 1, 1}));
    EXPECT_EQ(spool->stats().groups_synced, 1U);
    spool.reset();

    auto reopened = open_spool(root_ / "spool", options());
    ASSERT_TRUE(reopened);
    EXPECT_EQ(payloads(reopened->next(10)), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(SpoolTest, ReopenReturnsOnlyTheUnacknowledgedRecordsInOrder) {
    {
        auto spool = open_spool(root_ / "spool", options());
        ASSERT_TRUE(spool);
        for (const char* payload : {"one", "two", "three", "four", "five"})
            ASSERT_TRUE(append_and_wait(*spool, payload));
        const auto handed = spool->next(2);
        ASSERT_EQ(handed.size(), 2U);
        EXPECT_TRUE(spool->acknowledge(handed[0].id));  // "two" stays handed out, not delivered
    }
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    EXPECT_EQ(spool->stats().records_waiting, 4U);
    const auto entries = spool->next(10);
    EXPECT_EQ(payloads(entries), (std::vector<std::string>{"two", "three", "four", "five"}));
    for (const Entry& entry : entries) EXPECT_TRUE(spool->acknowledge(entry.id));
    spool.reset();

    auto drained = open_spool(root_ / "spool", options());
    ASSERT_TRUE(drained);
    EXPECT_TRUE(drained->next(10).empty());
    EXPECT_EQ(drained->stats().records_waiting, 0U);
}

TEST_F(SpoolTest, ReopenReplaysFromTheFirstUndeliveredRecord) {
    // Only the delivered prefix is saved: a record acknowledged after an undelivered one is
    // replayed (the Redis push is idempotent).
    {
        auto spool = open_spool(root_ / "spool", options());
        ASSERT_TRUE(spool);
        for (const char* payload : {"one", "two", "three"}) ASSERT_TRUE(append_and_wait(*spool, payload));
        const auto handed = spool->next(3);
        ASSERT_EQ(handed.size(), 3U);
        EXPECT_TRUE(spool->acknowledge(handed[1].id));
        EXPECT_EQ(spool->stats().records_waiting, 2U);
    }
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    EXPECT_EQ(payloads(spool->next(10)), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(SpoolTest, UnreadableWatermarkReplaysEverythingWithALogLine) {
    {
        auto spool = open_spool(root_ / "spool", options());
        ASSERT_TRUE(spool);
        for (const char* payload : {"one", "two"}) ASSERT_TRUE(append_and_wait(*spool, payload));
        for (const Entry& entry : spool->next(1)) EXPECT_TRUE(spool->acknowledge(entry.id));
    }
    write_file(root_ / "spool" / "ack-watermark", "garbage");
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    EXPECT_EQ(log_.count_containing("ack-watermark is unreadable"), 1U);
    EXPECT_EQ(payloads(spool->next(10)), (std::vector<std::string>{"one", "two"}));
}

TEST_F(SpoolTest, WithoutSyncRecordsStillComeBackAfterReopen) {
    Options opts = options();
    opts.sync = Options::Sync::none;
    {
        auto spool = open_spool(root_ / "spool", opts);
        ASSERT_TRUE(spool);
        for (const char* payload : {"one", "two"}) ASSERT_TRUE(append_and_wait(*spool, payload));
    }
    auto spool = open_spool(root_ / "spool", opts);
    ASSERT_TRUE(spool);
    EXPECT_EQ(payloads(spool->next(10)), (std::vector<std::string>{"one", "two"}));
}

TEST_F(SpoolTest, AcknowledgeDeletesFinishedSegments) {
    Options opts = options();
    opts.segment_bytes = 64;  // one record of this size a segment
    const fs::path dir = root_ / "spool";
    auto spool = open_spool(dir, opts);
    ASSERT_TRUE(spool);
    for (const char* payload :
         {"first record, 30 bytes long...", "second record, 30 bytes long..", "third record, 30 bytes long..."})
        ASSERT_TRUE(append_and_wait(*spool, payload));
    EXPECT_EQ(segments_in(dir),
              (std::vector<std::string>{"000000000001.spool", "000000000002.spool", "000000000003.spool"}));
    const auto entries = spool->next(3);
    ASSERT_EQ(entries.size(), 3U);

    EXPECT_TRUE(spool->acknowledge(entries[1].id));
    EXPECT_EQ(segments_in(dir), (std::vector<std::string>{"000000000001.spool", "000000000003.spool"}));
    EXPECT_TRUE(spool->acknowledge(entries[0].id));
    EXPECT_EQ(segments_in(dir), std::vector<std::string>{"000000000003.spool"});
    EXPECT_TRUE(spool->acknowledge(entries[2].id));  // the current segment, delivered too
    EXPECT_TRUE(segments_in(dir).empty());
    EXPECT_EQ(spool->stats().bytes, 0U);
    EXPECT_FALSE(spool->acknowledge(entries[2].id));

    ASSERT_TRUE(append_and_wait(*spool, "after the drain"));
    EXPECT_EQ(segments_in(dir), std::vector<std::string>{"000000000004.spool"});
    EXPECT_EQ(payloads(spool->next(10)), std::vector<std::string>{"after the drain"});
}

TEST_F(SpoolTest, FullSpoolRefusesAndRecoversOnceTheDrainFreesSpace) {
    Options opts = options();
    opts.segment_bytes = 64;
    const std::string payload(40, 's');  // 48 bytes a record, 64 a segment
    opts.max_bytes = 4 * (kSegmentHeaderSize + kRecordHeaderSize + payload.size());
    auto spool = open_spool(root_ / "spool", opts);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append_and_wait(*spool, payload)) << i;
    EXPECT_FALSE(spool->full());
    EXPECT_FALSE(append_and_wait(*spool, payload));
    EXPECT_TRUE(spool->full());
    EXPECT_FALSE(append_and_wait(*spool, payload));
    EXPECT_LE(spool->stats().bytes, opts.max_bytes);
    EXPECT_EQ(spool->stats().records_waiting, 4U);
    EXPECT_EQ(log_.count_containing("full"), 1U);

    for (const Entry& entry : spool->next(10)) EXPECT_TRUE(spool->acknowledge(entry.id));
    EXPECT_FALSE(spool->full());
    EXPECT_TRUE(append_and_wait(*spool, payload));
    EXPECT_EQ(spool->stats().records_waiting, 1U);
}

// A long outage refuses shares by the thousand: the log gets a line per interval, each
// with the number refused since the one before, not a line per share.
TEST_F(SpoolTest, WhileFullARefusalIsLoggedAtMostOncePerInterval) {
    Options opts = options();
    const std::string payload(40, 's');
    opts.max_bytes = 2 * kSegmentHeaderSize + 2 * (kRecordHeaderSize + payload.size());  // room for a next segment
    opts.full_log_interval = std::chrono::milliseconds(300);
    auto spool = open_spool(root_ / "spool", opts);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(append_and_wait(*spool, payload)) << i;
    const auto first = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(append_and_wait(*spool, payload)) << i;
    const bool within_interval = std::chrono::steady_clock::now() - first < opts.full_log_interval;
    if (within_interval) {
        EXPECT_EQ(log_.count_containing("full"), 1U);
    }
    EXPECT_EQ(log_.count_containing("1 share refused since the last report"), 1U);

    std::this_thread::sleep_for(opts.full_log_interval + std::chrono::milliseconds(50));
    const std::size_t before = log_.count_containing("full");
    EXPECT_FALSE(append_and_wait(*spool, payload));
    EXPECT_EQ(log_.count_containing("full"), before + 1);
    // The 49 (or fewer, had a line come between) refused in the first interval are counted
    // in the next line.
    if (within_interval) {
        EXPECT_EQ(log_.count_containing("50 shares refused since the last report"), 1U);
    }
    EXPECT_TRUE(log_.lines().back().find("spool: full (") == 0) << log_.lines().back();
}

TEST_F(SpoolTest, RequeuedEntryComesBackBeforeLaterOnes) {
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    for (const char* payload : {"1", "2", "3", "4", "5"}) ASSERT_TRUE(append_and_wait(*spool, payload));
    const auto first = spool->next(3);
    ASSERT_EQ(payloads(first), (std::vector<std::string>{"1", "2", "3"}));
    EXPECT_TRUE(spool->requeue(first[2].id));
    EXPECT_TRUE(spool->requeue(first[1].id));
    EXPECT_FALSE(spool->requeue(first[1].id));  // no longer handed out
    EXPECT_FALSE(spool->acknowledge(first[1].id));
    EXPECT_EQ(payloads(spool->next(3)), (std::vector<std::string>{"2", "3", "4"}));
    EXPECT_EQ(payloads(spool->next(3)), std::vector<std::string>{"5"});
    EXPECT_FALSE(spool->requeue(9999));
    EXPECT_FALSE(spool->acknowledge(9999));
}

TEST_F(SpoolTest, RefusesEmptyOversizedAndAfterClose) {
    auto spool = open_spool(root_ / "spool", options());
    ASSERT_TRUE(spool);
    EXPECT_FALSE(append_and_wait(*spool, ""));
    EXPECT_FALSE(append_and_wait(*spool, std::string(kMaxPayloadSize + 1, 'x')));
    spool->close();
    EXPECT_FALSE(append_and_wait(*spool, "late"));
    EXPECT_EQ(spool->stats().appended_total, 0U);
}

TEST_F(SpoolTest, TornTailOnDiskIsDroppedAtEveryLengthAndEarlierRecordsReplay) {
    const std::string whole = encode_segment_header() + encode_record("first share") + encode_record("second share") +
                              encode_record("third share, torn");
    const std::size_t kept = whole.size() - encode_record("third share, torn").size();
    for (std::size_t length = kept + 1; length < whole.size(); ++length) {
        SCOPED_TRACE("segment truncated to " + std::to_string(length));
        const fs::path dir = root_ / ("torn-" + std::to_string(length));
        fs::create_directories(dir);
        const fs::path segment = dir / "000000000007.spool";
        write_file(segment, whole.substr(0, length));
        LogSink log;
        Options opts;
        opts.log = log.callback();
        auto spool = open_spool(dir, opts);
        ASSERT_TRUE(spool);
        EXPECT_EQ(payloads(spool->next(10)), (std::vector<std::string>{"first share", "second share"}));
        EXPECT_EQ(fs::file_size(segment), kept);
        ASSERT_EQ(log.lines().size(), 1U);
        EXPECT_NE(log.lines()[0].find("torn tail of " + segment.string()), std::string::npos) << log.lines()[0];
        EXPECT_NE(log.lines()[0].find(std::to_string(length - kept) + " bytes"), std::string::npos) << log.lines()[0];
        // New records go to a new segment, after the replayed ones.
        EXPECT_TRUE(append_and_wait(*spool, "new share"));
        EXPECT_EQ(payloads(spool->next(10)), std::vector<std::string>{"new share"});
        EXPECT_EQ(segments_in(dir), (std::vector<std::string>{"000000000007.spool", "000000000008.spool"}));
    }
}

TEST_F(SpoolTest, CorruptMiddleRecordKeepsEarlierRecordsAndTheFile) {
    std::string bytes = encode_segment_header() + encode_record("first share") + encode_record("second share") +
                        encode_record("third share");
    const std::size_t second = kSegmentHeaderSize + encode_record("first share").size();
    bytes[second + kRecordHeaderSize] ^= 0x01;
    const fs::path dir = root_ / "spool";
    fs::create_directories(dir);
    write_file(dir / "000000000001.spool", bytes);

    auto spool = open_spool(dir, options());
    ASSERT_TRUE(spool);
    EXPECT_EQ(log_.count_containing("corrupt"), 1U);
    EXPECT_EQ(fs::file_size(dir / "000000000001.spool"), bytes.size());  // never truncated
    const auto entries = spool->next(10);
    ASSERT_EQ(payloads(entries), std::vector<std::string>{"first share"});
    EXPECT_TRUE(spool->acknowledge(entries[0].id));
    EXPECT_EQ(files_in(dir), (std::vector<std::string>{"000000000001.spool.corrupt", "000000000002.spool"}));
}

TEST_F(SpoolTest, SegmentWithAHalfWrittenHeaderIsRemoved) {
    const fs::path dir = root_ / "spool";
    fs::create_directories(dir);
    write_file(dir / "000000000003.spool", encode_segment_header().substr(0, 5));
    auto spool = open_spool(dir, options());
    ASSERT_TRUE(spool);
    EXPECT_TRUE(spool->next(10).empty());
    EXPECT_EQ(segments_in(dir), std::vector<std::string>{"000000000004.spool"});
    EXPECT_EQ(log_.count_containing("header"), 1U);
}

TEST_F(SpoolTest, ForeignSegmentStopsTheOpen) {
    const fs::path dir = root_ / "spool";
    fs::create_directories(dir);
    std::string bytes = encode_segment_header() + encode_record("share");
    bytes[8] = 2;
    write_file(dir / "000000000001.spool", bytes);
    auto opened = Spool::open(dir, options());
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    const std::string& error = std::get<std::string>(opened);
    EXPECT_NE(error.find("000000000001.spool"), std::string::npos) << error;
    EXPECT_NE(error.find("version 2"), std::string::npos) << error;
    EXPECT_EQ(fs::file_size(dir / "000000000001.spool"), bytes.size());  // left as it was

    bytes = "not a spool at all";
    write_file(dir / "000000000001.spool", bytes);
    opened = Spool::open(dir, options());
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_NE(std::get<std::string>(opened).find("magic"), std::string::npos);
}

}  // namespace
}  // namespace sharegate::spool
