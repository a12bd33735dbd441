// End-to-end tests of the sharegate binary: a private redis-server, the real process
// started with fork/exec, and a blocking line client over real sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/stratum_client.hpp"
#include "sharegate/u256.hpp"
#include "sharegate/verifier.hpp"
#include "support/d1_shares.hpp"
#include "support/line_client.hpp"
#include "support/pool_state.hpp"
#include "support/redis_server.hpp"
#include "support/seed_share.hpp"
#include "support/server_process.hpp"

namespace {

using sharegate::protocol::subscribe_request;
using sharegate_test::accepted;
using sharegate_test::LineClient;
using sharegate_test::load_d1;
using sharegate_test::refused;
using sharegate_test::refused_result_null;
using sharegate_test::ReplyShape;
using sharegate_test::ServerLine;
using sharegate_test::TestRedisServer;
using sharegate_test::VectorShare;
using sharegate_test::work;
using namespace std::chrono_literals;

constexpr const char* kChallenge = sharegate_test::seed::kChallenge;
constexpr const char* kPool = sharegate_test::seed::kPool;
constexpr const char* kMiner = sharegate_test::seed::kMiner;
constexpr const char* kSeedNonce = sharegate_test::seed::kNonce;
constexpr const char* kSeedDigest = sharegate_test::seed::kDigest;
constexpr const char* kSeedTarget = sharegate_test::seed::kTarget;
// A second miner, all lower case, for the difficulty-1 vectors.
constexpr const char* kMinerD1 = sharegate_test::kMinerD1;

// A submit under the current challenge unless told otherwise; `difficulty` is its JSON text.
std::string submit_line(int id, const std::string& nonce, const std::string& miner, const std::string& digest,
                        const std::string& difficulty, const std::string& challenge = kChallenge) {
    return sharegate::protocol::submit_request(static_cast<std::uint64_t>(id), nonce, miner, digest, difficulty,
                                               challenge);
}

// The exact bytes of a notify, for the tests of the wire format itself.
std::string notify_line(const std::string& challenge, const std::string& target, std::uint64_t difficulty) {
    return R"({"method":"mining.notify","params":[")" + challenge + "\",\"" + target + "\"," +
           std::to_string(difficulty) + ",\"" + kPool + "\"]}";
}

// The submits of shares [from, to) by the difficulty-1 miner, request ids id_base + i,
// as one pipelined write.
std::string d1_submits(const std::vector<VectorShare>& d1, std::size_t from, std::size_t to, int id_base) {
    std::string lines;
    for (std::size_t i = from; i < to; ++i)
        lines += submit_line(id_base + int(i), d1[i].nonce, kMinerD1, d1[i].digest, "1");
    return lines;
}

std::size_t count_lines(const std::string& text) {
    if (text.empty()) return 0;
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_ = std::make_unique<TestRedisServer>();
        sharegate_test::write_pool_state(*redis_);
    }

    void TearDown() override {
        if (server_.running()) {
            EXPECT_EQ(stop_server(), 0);
        }
    }

    // The pool's rules are checked in the original's reply shape (legacy); a test that
    // passes its own --reply-style overrides it (later options win). The default "auto"
    // and its two lines per reply are tested in mvis_generations_test.cpp.
    void start_server(std::vector<std::string> extra = {}) {
        // (A --config file sets its own: the command line would win over it.)
        if (std::find(extra.begin(), extra.end(), "--config") == extra.end())
            extra.insert(extra.begin(), {"--reply-style", "legacy"});
        ASSERT_EQ(server_.start(SHAREGATE_BINARY, *redis_, kPool, std::move(extra)), "");
        port_ = server_.port();
    }

    // SIGTERM; returns the exit status (or -1 if it did not exit within 15 s).
    int stop_server() { return server_.stop(); }

    // Subscribes and reads the reply and the first notify.
    void subscribe(LineClient& client, const std::string& miner, std::uint64_t var_diff) {
        client.send(subscribe_request(1, miner));
        EXPECT_EQ(client.read_message(), accepted(1));
        const ServerLine notify = client.read_message();
        ASSERT_TRUE(notify.is_notify()) << notify.text;
        EXPECT_EQ(notify.difficulty, var_diff) << notify.text;
    }

    std::string queued() { return redis_->command({"LRANGE", "queued_shares_list", "0", "-1"}); }

    void valid_vectors_all_accepted(std::vector<std::string> verify_on);
    void duplicates_and_pipelined_order(std::vector<std::string> verify_on);

    std::unique_ptr<TestRedisServer> redis_;
    sharegate_test::ServerProcess server_;
    std::uint16_t port_ = 0;
};

// (a) The conversation of the original design note, byte for byte.
TEST_F(ServerTest, SeedConversation) {
    start_server();
    LineClient client(port_);
    client.send(R"({"id":1,"method":"mining.subscribe","params":["0x1b7bfb694ee51913c347971c7090a74aefbd41f6"]})"
                "\n");
    EXPECT_EQ(client.read_line(), R"({"id":1,"result":true,"error":null})");
    EXPECT_EQ(client.read_line(), notify_line(kChallenge, kSeedTarget, 872));
    client.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_line(), R"({"id":4,"result":true,"error":null})");
    EXPECT_EQ(queued(), std::string(R"({"block":5600000,"nonce":")") + kSeedNonce + R"(","minerEthAddress":")" +
                            kMiner + R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + kSeedDigest +
                            R"(","difficulty":872})");
}

// (b) Every error of the table, in the legacy shape.
TEST_F(ServerTest, ErrorTable) {
    start_server();
    LineClient client(port_);
    client.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_message(), refused_result_null(4, 25, "Not subscribed"));
    subscribe(client, kMiner, 872);

    const std::string other_challenge = "0x" + std::string(64, '1');
    std::string bad_digest = kSeedDigest;
    bad_digest.back() = 'd';
    struct Case {
        std::string line;
        ServerLine reply;
    } cases[] = {
        {submit_line(10, "0x1234", kMiner, kSeedDigest, "872"), refused(10, 20, "Invalid share parameters")},
        {R"({"id":11,"method":"mining.submit","params":[null,"a","b",1,"c"]})"
         "\n",
         refused(11, 20, "Invalid share parameters")},
        {submit_line(12, kSeedNonce, "0x1b7bfB694eE51913c347971c7090a74AEFbd41f7", kSeedDigest, "872"),
         refused(12, 20, "Invalid ETH account")},
        {submit_line(13, kSeedNonce, kMiner, kSeedDigest, "872", other_challenge),
         refused(13, 21, "Wrong challenge number")},
        {submit_line(14, kSeedNonce, kMiner, kSeedDigest, "871"), refused(14, 23, "Low difficulty share")},
        {submit_line(15, kSeedNonce, kMiner, bad_digest, "872"), refused(15, 20, "Invalid digest")},
        // The same nonce with its true digest: 15's junk digest did not claim the nonce,
        // so this one is judged, and misses the target of a huge claimed difficulty.
        {submit_line(16, kSeedNonce, kMiner, kSeedDigest, "1000000000"), refused(16, 23, "Target not met")},
        // A refused share is forgotten: sent again, it is judged again, not a duplicate.
        {submit_line(18, kSeedNonce, kMiner, kSeedDigest, "1000000000"), refused(18, 23, "Target not met")},
        {R"({"id":17,"method":"mining.authorize","params":[]})"
         "\n",
         refused_result_null(17, 20, "Unknown stratum method")},
    };
    for (const auto& c : cases) {
        client.send(c.line);
        EXPECT_EQ(client.read_message(), c.reply) << c.line;
    }
    EXPECT_EQ(queued(), "");  // nothing was accepted

    // Only a credited share stays claimed: accepted, then sent again, it is a duplicate.
    client.send(submit_line(19, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_line(), R"({"id":19,"result":true,"error":null})");
    client.send(submit_line(20, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_message(), refused(20, 22, "Duplicate share"));

    // Target not met: a right digest whose claimed difficulty it does not meet.
    auto d1 = load_d1();
    ASSERT_FALSE(d1.empty());
    client.send(submit_line(18, d1[0].nonce, kMiner, d1[0].digest, "1000000000000"));
    EXPECT_EQ(client.read_message(), refused(18, 23, "Target not met"));

    // A bad subscribe is answered, then the connection is closed.
    LineClient bad(port_);
    bad.send(subscribe_request(1, "0x1b7bfB694eE51913c347971c7090a74AEFbd41f7"));
    EXPECT_EQ(bad.read_message(), refused(1, 20, "Invalid ETH account"));
    EXPECT_TRUE(bad.closed_by_server());
}

// The order of the checks (protocol.md section 2; the first failure answers): not
// subscribed, invalid share parameters, wrong challenge, low difficulty, duplicate,
// invalid digest, target not met, could not be stored. For each adjacent pair, one
// submit that breaks both rules must get the earlier one's answer; where cheap, a
// second submit shows that the later rule really is broken by the same share.
TEST_F(ServerTest, CheckOrder) {
    start_server();
    const std::string other_challenge = "0x" + std::string(64, '1');
    std::string bad_digest = kSeedDigest;
    bad_digest.back() = 'd';
    auto d1 = load_d1();
    ASSERT_GE(d1.size(), 2u);

    // not subscribed (25) before invalid share parameters (20).
    {
        LineClient unsubscribed(port_);
        unsubscribed.send(submit_line(30, "0x1234", kMiner, kSeedDigest, "872", other_challenge));
        EXPECT_EQ(unsubscribed.read_message(), refused_result_null(30, 25, "Not subscribed"))
            << "not subscribed + invalid share parameters";
        unsubscribed.send(R"({"id":31,"method":"mining.submit","params":[null,"a","b",1,"c"]})"
                          "\n");
        EXPECT_EQ(unsubscribed.read_message(), refused_result_null(31, 25, "Not subscribed"))
            << "not subscribed + a null parameter";
    }

    LineClient client(port_);
    subscribe(client, kMiner, 872);
    struct Step {
        std::string pair, line;
        ServerLine reply;
    };
    const Step steps[] = {
        // invalid share parameters (20) before wrong challenge (21): a nonce too short,
        // under a challenge that is not the current one.
        {"invalid share parameters + wrong challenge",
         submit_line(32, "0x1234", kMiner, kSeedDigest, "872", other_challenge),
         refused(32, 20, "Invalid share parameters")},
        // wrong challenge (21) before low difficulty (23): stale and below the varDiff of 872.
        {"wrong challenge + low difficulty", submit_line(33, kSeedNonce, kMiner, kSeedDigest, "871", other_challenge),
         refused(33, 21, "Wrong challenge number")},
        {"(the seed share, accepted: its nonce is now seen)", submit_line(34, kSeedNonce, kMiner, kSeedDigest, "872"),
         accepted(34)},
        // low difficulty (23) before duplicate (22): the seen share again, below the varDiff.
        {"low difficulty + duplicate", submit_line(35, kSeedNonce, kMiner, kSeedDigest, "871"),
         refused(35, 23, "Low difficulty share")},
        {"(the seen share at the varDiff is a duplicate)", submit_line(36, kSeedNonce, kMiner, kSeedDigest, "872"),
         refused(36, 22, "Duplicate share")},
        // duplicate (22) before invalid digest (20): the seen nonce with a digest that is not its hash.
        {"duplicate + invalid digest", submit_line(37, kSeedNonce, kMiner, bad_digest, "872"),
         refused(37, 22, "Duplicate share")},
    };
    for (const auto& step : steps) {
        client.send(step.line);
        EXPECT_EQ(client.read_message(), step.reply) << step.pair;
    }

    // invalid digest (20) before target not met (23): a fresh nonce with a wrong digest
    // that is also above the target of its claimed difficulty.
    std::string wrong = d1[0].digest;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    const char* const huge = "1000000000000";
    const auto wrong_value = sharegate::U256::from_hex32(wrong);
    ASSERT_TRUE(wrong_value);
    ASSERT_FALSE(*wrong_value < sharegate::share_target(234, 1000000000000ULL)) << "the pair must break both rules";
    client.send(submit_line(38, d1[0].nonce, kMiner, wrong, huge));
    EXPECT_EQ(client.read_message(), refused(38, 20, "Invalid digest")) << "invalid digest + target not met";
    // The same nonce with its true digest misses that target (an invalid digest does not use the nonce up).
    client.send(submit_line(39, d1[0].nonce, kMiner, d1[0].digest, huge));
    EXPECT_EQ(client.read_message(), refused(39, 23, "Target not met")) << "(the true digest at that difficulty)";

    // target not met (23) before could not be stored (20): with Redis gone no share can
    // be stored, and one that misses its target is answered at once, without Redis.
    redis_->stop();
    client.send(submit_line(40, d1[1].nonce, kMiner, d1[1].digest, huge));
    EXPECT_EQ(client.read_message(3000ms), refused(40, 23, "Target not met")) << "target not met + could not be stored";
    redis_->start();
}

// The pid of the test's redis-server as Redis itself reports it, or -1 unless that is a
// live child of this process: the only process the tests below ever signal.
pid_t redis_child_pid(TestRedisServer& redis) {
    const std::string info = redis.command({"INFO", "server"});
    const auto at = info.find("process_id:");
    if (at == std::string::npos) return -1;
    const long pid = std::strtol(info.c_str() + at + std::string("process_id:").size(), nullptr, 10);
    if (pid <= 1) return -1;
    // /proc/PID/stat: "PID (COMM) STATE PPID ..."; COMM may hold spaces and parentheses.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(text.substr(close + 1));
    char state = 0;
    long ppid = 0;
    if (!(rest >> state >> ppid) || ppid != static_cast<long>(::getpid())) return -1;
    return static_cast<pid_t>(pid);
}

// The state letter of /proc/PID/stat ('T' when stopped), or 0.
char process_state(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    return close == std::string::npos || close + 2 >= text.size() ? 0 : text[close + 2];
}

// Stops one child process (SIGSTOP) for its lifetime and lets it go on (SIGCONT) when
// it ends, whatever the test does meanwhile; signals nothing unless given a positive pid.
class Frozen {
public:
    explicit Frozen(pid_t pid) : pid_(pid > 0 && ::kill(pid, SIGSTOP) == 0 ? pid : -1) {}
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    ~Frozen() { thaw(); }
    bool frozen() const { return pid_ > 0; }
    void thaw() {
        if (pid_ > 0) ::kill(pid_, SIGCONT);
        pid_ = -1;
    }

private:
    pid_t pid_;
};

// A verified share is answered true only once Redis has acknowledged its push: while
// the test's redis-server is stopped (SIGSTOP: its socket still takes the push, it just
// never answers) the miner hears nothing; once it runs again, true, and the share is queued.
TEST_F(ServerTest, AnswersTrueOnlyAfterRedisAcknowledged) {
    start_server({"--spool-dir", "off"});  // with a spool, "true" may come from the spool (below)
    auto d1 = load_d1();
    ASSERT_GE(d1.size(), 2u);
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    // One share through first, so that the push connection is up before Redis stops.
    client.send(submit_line(50, d1[0].nonce, kMinerD1, d1[0].digest, "1"));
    ASSERT_EQ(client.read_message(), accepted(50));

    const pid_t redis_pid = redis_child_pid(*redis_);
    ASSERT_GT(redis_pid, 0) << "the test's redis-server is not a child of this process";
    {
        Frozen frozen(redis_pid);
        ASSERT_TRUE(frozen.frozen());
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (process_state(redis_pid) != 'T' && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        ASSERT_EQ(process_state(redis_pid), 'T') << "redis-server did not stop";
        client.send(submit_line(51, d1[1].nonce, kMinerD1, d1[1].digest, "1"));
        // Well under the store's 5 s command timeout, so the push is not retried meanwhile.
        EXPECT_EQ(client.read_line(1500ms), std::nullopt) << "answered while Redis could not acknowledge the push";
    }
    EXPECT_EQ(client.read_message(10s), accepted(51));
    const std::string list = queued();
    EXPECT_NE(list.find(d1[1].nonce), std::string::npos) << list;
    EXPECT_EQ(count_lines(list), 2u) << list;
}

// With the spool (the default), a frozen Redis costs the miner only the bound: the share
// is answered "true" once the spool has it durably, and reaches the list exactly once
// when Redis wakes (its own push, still on the wire, and the spool's replay meet the
// same key).
TEST_F(ServerTest, FrozenRedisIsRiddenOutByTheSpool) {
    start_server({"--redis-bound-ms", "200"});
    auto d1 = load_d1();
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    client.send(submit_line(50, d1[0].nonce, kMinerD1, d1[0].digest, "1"));
    ASSERT_EQ(client.read_message(), accepted(50));

    const pid_t redis_pid = redis_child_pid(*redis_);
    ASSERT_GT(redis_pid, 0) << "the test's redis-server is not a child of this process";
    {
        Frozen frozen(redis_pid);
        ASSERT_TRUE(frozen.frozen());
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (process_state(redis_pid) != 'T' && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        ASSERT_EQ(process_state(redis_pid), 'T') << "redis-server did not stop";
        std::string lines;
        for (int i = 1; i <= 20; ++i) lines += submit_line(50 + i, d1[i].nonce, kMinerD1, d1[i].digest, "1");
        client.send(lines);
        // Answered while Redis is still frozen: from the spool.
        for (int i = 1; i <= 20; ++i) EXPECT_EQ(client.read_message(5s), accepted(50 + i)) << i;
    }
    // Thawed: every share reaches the list, each once.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (count_lines(queued()) < 21 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(500ms);  // a duplicate, if any, would arrive with the replay
    const std::string list = queued();
    EXPECT_EQ(count_lines(list), 21u) << list;
    for (int i = 0; i <= 20; ++i) EXPECT_NE(list.find(d1[static_cast<std::size_t>(i)].nonce), std::string::npos) << i;
}

// A request of exactly `length` bytes (no newline): an unknown method padded with spaces
// inside the object, answered with [20,"Unknown stratum method"] when it is read.
std::string request_of_length(int id, std::size_t length) {
    std::string line = R"({"id":)" + std::to_string(id) + R"(,"method":"mining.nope")";
    line.append(length - line.size() - 1, ' ');
    line += '}';
    return line;
}

ServerLine unknown_method_reply(int id) { return refused_result_null(id, 20, "Unknown stratum method"); }

// --max-line-bytes N: an unterminated line of N bytes is held (and answered once its
// newline comes); one of N + 1 closes the connection, which the server logs at debug (and
// counts). Complete lines are handed on before the limit applies, so each line here is
// held unterminated for a moment, in one write and in many small ones.
TEST_F(ServerTest, LineLengthLimitIsExact) {
    constexpr std::size_t kLimit = 128;
    // The server's log (stdout) goes to a file, to count the closings.
    const auto log_path =
        std::filesystem::temp_directory_path() / ("sharegate-line-limit-" + std::to_string(::getpid()) + ".log");
    {
        std::fflush(stdout);
        const int saved = ::dup(STDOUT_FILENO);
        const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(saved, 0);
        ASSERT_GE(log, 0);
        ::dup2(log, STDOUT_FILENO);
        const std::string started = server_.start(SHAREGATE_BINARY, *redis_, kPool,
                                                  {"--max-line-bytes", std::to_string(kLimit), "--log-level", "debug",
                                                   "--reply-style", "legacy", "--stats-interval-s", "1"});
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        ::close(log);
        ASSERT_EQ(started, "");
        port_ = server_.port();
    }
    const auto pause = 150ms;  // long enough for the server to read what came before

    // Exactly the limit, in one write: held, then answered; the connection stays open.
    {
        LineClient client(port_);
        client.send(request_of_length(60, kLimit));
        std::this_thread::sleep_for(pause);
        client.send("\n");
        EXPECT_EQ(client.read_message(), unknown_method_reply(60)) << kLimit << " bytes in one write";
        client.send(request_of_length(61, 40) + "\n");
        EXPECT_EQ(client.read_message(), unknown_method_reply(61)) << "after a line of exactly the limit";
    }
    // One byte over, in one write: closed without an answer.
    {
        LineClient client(port_);
        client.send(request_of_length(62, kLimit + 1));
        EXPECT_EQ(client.read_line(3000ms), std::nullopt) << kLimit + 1 << " bytes in one write were answered";
        EXPECT_TRUE(client.closed_by_server(1000ms)) << kLimit + 1 << " bytes in one write";
    }
    // Exactly the limit in pieces of 10 bytes, then one byte more: open until that byte.
    {
        LineClient client(port_);
        const std::string line = request_of_length(63, kLimit);
        for (std::size_t at = 0; at < line.size(); at += 10) {
            client.send(line.substr(at, 10));
            std::this_thread::sleep_for(20ms);
        }
        std::this_thread::sleep_for(pause);
        client.send("\n");
        EXPECT_EQ(client.read_message(), unknown_method_reply(63)) << kLimit << " bytes in pieces";
        const std::string over = request_of_length(64, kLimit + 1);
        for (std::size_t at = 0; at < kLimit; at += 10) {
            client.send(over.substr(at, std::min<std::size_t>(10, kLimit - at)));
            std::this_thread::sleep_for(20ms);
        }
        EXPECT_FALSE(client.closed_by_server(pause)) << "closed at " << kLimit << " bytes in pieces";
        client.send(over.substr(kLimit));
        EXPECT_TRUE(client.closed_by_server(3000ms)) << kLimit + 1 << " bytes in pieces";
    }
    // Complete lines, newline included in the same write: the limit is the same.
    {
        LineClient client(port_);
        client.send(request_of_length(65, kLimit) + "\n");
        EXPECT_EQ(client.read_message(), unknown_method_reply(65)) << kLimit << " bytes and the newline in one write";
        client.send(request_of_length(66, kLimit + 1) + "\n" + request_of_length(67, 40) + "\n");
        EXPECT_EQ(client.read_line(3000ms), std::nullopt) << "a complete line of " << kLimit + 1 << " was answered";
        EXPECT_TRUE(client.closed_by_server(1000ms)) << "a complete line of " << kLimit + 1 << " bytes";
    }
    // Every closing was counted (and logged, once each); the server still serves.
    LineClient after(port_);
    subscribe(after, kMiner, 872);
    std::this_thread::sleep_for(1500ms);  // a statistics line after the last closing
    EXPECT_EQ(stop_server(), 0);
    std::ifstream in(log_path);
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(log_path);
    const std::string closing = "closed: a line longer than " + std::to_string(kLimit) + " bytes";
    std::size_t closings = 0;
    for (auto at = log.find(closing); at != std::string::npos; at = log.find(closing, at + 1)) ++closings;
    EXPECT_EQ(closings, 3u) << log;
    // The statistics line counts them too.
    const auto stats = log.rfind("stats: ");
    ASSERT_NE(stats, std::string::npos) << log;
    const std::string stats_line = log.substr(stats, log.find('\n', stats) - stats);
    EXPECT_NE(stats_line.find("long line 3,"), std::string::npos) << stats_line;
}

// (c) The 200 difficulty-1 vectors, pipelined in one write: all accepted, all queued.
// Run by each place verification can happen (--verify-on): the I/O threads (the default
// with the CPU verifier) and the batcher's thread.
TEST_F(ServerTest, ValidVectorsAllAccepted) { valid_vectors_all_accepted({"--verify-on", "io"}); }
TEST_F(ServerTest, ValidVectorsAllAcceptedWithTheBatcher) { valid_vectors_all_accepted({"--verify-on", "batcher"}); }

void ServerTest::valid_vectors_all_accepted(std::vector<std::string> verify_on) {
    start_server(std::move(verify_on));
    auto d1 = load_d1();
    ASSERT_EQ(d1.size(), 200u);
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    client.send(d1_submits(d1, 0, d1.size(), 100));
    for (std::size_t i = 0; i < d1.size(); ++i) {
        EXPECT_EQ(client.read_message(), accepted(100 + i));
    }
    std::string list = queued();
    EXPECT_EQ(count_lines(list), 200u);
    for (const auto& share : d1) EXPECT_NE(list.find(share.nonce), std::string::npos) << share.nonce;
}

// (d) A repeated share is refused and pushed once; (e) a hundred pipelined submits are
// answered in order although they complete at different times.
TEST_F(ServerTest, DuplicatesAndPipelinedOrder) { duplicates_and_pipelined_order({"--verify-on", "io"}); }
TEST_F(ServerTest, DuplicatesAndPipelinedOrderWithTheBatcher) {
    duplicates_and_pipelined_order({"--verify-on", "batcher"});
}

void ServerTest::duplicates_and_pipelined_order(std::vector<std::string> verify_on) {
    start_server(std::move(verify_on));
    auto d1 = load_d1();
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    std::string burst;
    std::vector<ServerLine> expected;
    for (int i = 0; i < 100; ++i) {
        const auto& share = d1[static_cast<std::size_t>(i / 2)];
        // Even ids: a new share; odd ids: the same again (duplicate), or every tenth an unknown method.
        if (i % 10 == 9) {
            burst += R"({"id":)" + std::to_string(1000 + i) +
                     R"(,"method":"nope"})"
                     "\n";
            expected.push_back(refused_result_null(1000 + i, 20, "Unknown stratum method"));
            continue;
        }
        burst += submit_line(1000 + i, share.nonce, kMinerD1, share.digest, "1");
        expected.push_back(i % 2 == 0 ? accepted(1000 + i) : refused(1000 + i, 22, "Duplicate share"));
    }
    client.send(burst);
    for (const auto& e : expected) EXPECT_EQ(client.read_message(), e);
    std::string list = queued();
    EXPECT_EQ(count_lines(list), 50u);
    for (int i = 0; i < 50; ++i) {
        const auto& nonce = d1[static_cast<std::size_t>(i)].nonce;
        auto first = list.find(nonce);
        ASSERT_NE(first, std::string::npos);
        EXPECT_EQ(list.find(nonce, first + 1), std::string::npos) << "pushed twice: " << nonce;
    }
}

// A connection handles a few lines a turn (kMaxLinesPerTurn) and the rest of a read in
// later turns: a burst of 120 submits followed at once by EOF is answered whole, in
// order, before the server closes the connection.
TEST_F(ServerTest, ABurstThenEofIsAnsweredWholeAcrossTurnsBeforeTheClose) {
    start_server();
    const auto d1 = load_d1();
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    client.send(d1_submits(d1, 0, 120, 300));
    client.finish_sending();
    for (std::size_t i = 0; i < 120; ++i) EXPECT_EQ(client.read_message(), accepted(300 + i)) << i;
    EXPECT_FALSE(client.read_line(3000ms)) << "the server kept the connection open after answering all";
    EXPECT_EQ(count_lines(queued()), 120u);
}

// (f) A published challenge reaches every subscribed miner; a published varDiff only its miner.
TEST_F(ServerTest, PublishedChallengeAndVarDiff) {
    start_server();
    LineClient a(port_), b(port_);
    subscribe(a, kMiner, 872);
    subscribe(b, kMinerD1, 1);
    const std::string next = "0x" + std::string(63, '0') + "7";
    redis_->command({"PUBLISH", "challengeNumber", next});
    const ServerLine na = a.read_message(), nb = b.read_message();
    ASSERT_TRUE(na.is_notify() && nb.is_notify()) << na.text << "\n" << nb.text;
    EXPECT_EQ(na, work(next, kSeedTarget, 872, kPool));
    EXPECT_EQ(nb.challenge, next);

    // The old challenge is stale now.
    a.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(a.read_message(), refused(4, 21, "Wrong challenge number"));

    redis_->command(
        {"PUBLISH", "varDiff", std::string(R"({"miner":")") + kMinerD1 + R"(","varDiff":5000,"target":"1"})"});
    const ServerLine nb2 = b.read_message();
    ASSERT_TRUE(nb2.is_notify()) << nb2.text;
    EXPECT_EQ(nb2.challenge, next);
    EXPECT_EQ(nb2.difficulty, 5000u) << nb2.text;
    EXPECT_FALSE(a.read_line(500ms)) << "varDiff for another miner reached this one";
}

// A new challenge is announced a chunk of sessions at a time, each I/O thread its own
// (Server::notify_chunk): every session gets it, however many chunks it takes, on
// whichever thread it lives, with the work of its own varDiff.
TEST_F(ServerTest, ANewChallengeReachesEverySessionAcrossManyChunks) {
    start_server({"--max-connections-per-address", "1000", "--threads", "2"});
    constexpr std::size_t kSessions = 300;  // dealt in turn: 150 a thread, more than one chunk of 128 each
    std::vector<std::unique_ptr<LineClient>> clients;
    for (std::size_t i = 0; i < kSessions; ++i) {
        clients.push_back(std::make_unique<LineClient>(port_));
        subscribe(*clients.back(), i % 2 ? kMiner : kMinerD1, i % 2 ? 872 : 1);
    }
    const std::string next = "0x" + std::string(63, '0') + "9";
    redis_->command({"PUBLISH", "challengeNumber", next});
    for (std::size_t i = 0; i < kSessions; ++i) {
        const ServerLine notify = clients[i]->read_message();
        ASSERT_TRUE(notify.is_notify()) << "session " << i << ": " << notify.text;
        EXPECT_EQ(notify.challenge, next) << "session " << i;
        EXPECT_EQ(notify.difficulty, i % 2 ? 872u : 1u) << "session " << i;
    }
}

// A miner that never submits is dropped when its notify comes due after the idle limit
// (600 s by default; shortened here), and one that submits is not.
TEST_F(ServerTest, IdleMinerIsDroppedAtItsNotify) {
    start_server({"--renotify-max-s", "2", "--idle-timeout-s", "1"});
    LineClient idle(port_), busy(port_);
    subscribe(idle, kMiner, 872);
    subscribe(busy, kMinerD1, 1);
    auto d1 = load_d1();
    ASSERT_GE(d1.size(), 10u);
    bool idle_closed = false;
    for (std::size_t i = 0; i < 10 && !idle_closed; ++i) {
        busy.send(submit_line(int(i), d1[i].nonce, kMinerD1, d1[i].digest, "1"));
        // Notifies may come first; the answer follows in order.
        for (;;) {
            const ServerLine line = busy.read_message(2s);
            ASSERT_NE(line.kind, ServerLine::Kind::none) << "the busy miner was dropped at share " << i;
            if (!line.is_notify()) break;
        }
        std::this_thread::sleep_for(400ms);
        idle_closed = idle.closed_by_server(50ms);  // it only ever receives notifies
    }
    EXPECT_TRUE(idle_closed) << "a miner with no share for over the idle limit was kept";
}

// Redis goes away under the server and comes back: shares verified meanwhile are not
// answered until Redis has them, none is lost, and the subscriptions come back.
TEST_F(ServerTest, RedisStoppedAndRestartedUnderTheServer) {
    start_server({"--spool-dir", "off"});  // the spool's own test is below
    auto d1 = load_d1();
    ASSERT_GE(d1.size(), 100u);
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    client.send(d1_submits(d1, 0, 50, 0));
    for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(client.read_message(), accepted(i));

    redis_->stop();
    client.send(d1_submits(d1, 50, 100, 0));
    // Verified, but not stored: no "true" may reach the miner yet.
    EXPECT_FALSE(client.read_line(700ms)) << "a share was acknowledged while Redis was down";
    redis_->start();  // same port, empty: it keeps no data across the restart
    for (std::size_t i = 50; i < 100; ++i) EXPECT_EQ(client.read_message(15s), accepted(i));
    const std::string list = queued();
    for (std::size_t i = 50; i < 100; ++i) EXPECT_NE(list.find(d1[i].nonce), std::string::npos) << i;

    // Resubscribed: a challenge published now reaches the miner.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (redis_->command({"PUBSUB", "NUMSUB", "challengeNumber"}) != "challengeNumber\n1" &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    const std::string next = "0x" + std::string(63, '0') + "9";
    redis_->command({"PUBLISH", "challengeNumber", next});
    const ServerLine notify = client.read_message(5s);
    ASSERT_TRUE(notify.is_notify()) << notify.text;
    EXPECT_EQ(notify.challenge, next);
}

// With the spool, Redis stopped: every share is answered "true" at once (spooled), and
// when Redis is back (empty: it kept nothing) the spool's shares arrive, each exactly once.
// Then sharegate is killed with shares spooled and Redis down, and a restart replays them.
TEST_F(ServerTest, SpoolCarriesSharesAcrossARedisOutageAndACrash) {
    start_server({"--redis-bound-ms", "200"});
    auto d1 = load_d1();
    ASSERT_GE(d1.size(), 150u);
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    client.send(d1_submits(d1, 0, 10, 0));
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(client.read_message(), accepted(i));

    redis_->stop();
    client.send(d1_submits(d1, 10, 60, 0));
    for (std::size_t i = 10; i < 60; ++i) EXPECT_EQ(client.read_message(5s), accepted(i)) << "while Redis is down";
    redis_->start();  // same port, empty
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (count_lines(queued()) < 50 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(500ms);
    std::string list = queued();
    EXPECT_EQ(count_lines(list), 50u) << list;
    for (std::size_t i = 10; i < 60; ++i) EXPECT_NE(list.find(d1[i].nonce), std::string::npos) << i;

    // Redis down again, shares spooled, then sharegate killed outright.
    redis_->command({"DEL", "queued_shares_list"});
    redis_->stop();
    client.send(d1_submits(d1, 60, 100, 0));
    for (std::size_t i = 60; i < 100; ++i) EXPECT_EQ(client.read_message(5s), accepted(i)) << "while Redis is down";
    ASSERT_TRUE(server_.signal(SIGKILL));
    server_.stop();  // reaps it
    redis_->start();
    sharegate_test::write_pool_state(*redis_);
    ASSERT_NO_FATAL_FAILURE(start_server({"--redis-bound-ms", "200"}));
    deadline = std::chrono::steady_clock::now() + 20s;
    while (count_lines(queued()) < 40 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(500ms);
    list = queued();
    EXPECT_EQ(count_lines(list), 40u) << list;
    for (std::size_t i = 60; i < 100; ++i) EXPECT_NE(list.find(d1[i].nonce), std::string::npos) << i;
}

// A miner that subscribes while Redis is down gets work at the default varDiff after a
// short wait, instead of waiting for Redis to come back.
TEST_F(ServerTest, SubscribeWhileRedisIsDownGetsWorkAtTheDefaultVarDiff) {
    start_server();
    redis_->stop();
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner));
    EXPECT_EQ(client.read_message(), accepted(1));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(client.read_line(1000ms)) << "work went out before the varDiff wait";
    const ServerLine notify = client.read_message(5s);
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_NE(notify.kind, ServerLine::Kind::none) << "no work while Redis is down";
    ASSERT_TRUE(notify.is_notify()) << notify.text;
    EXPECT_EQ(notify.difficulty, 4000u) << notify.text;  // redis::kDefaultVarDiff
    EXPECT_GE(waited, 1500ms);
    EXPECT_LE(waited, 5s);
    redis_->start();
}

// (g) Malformed input never takes the server down.
TEST_F(ServerTest, MalformedInput) {
    start_server();
    {
        LineClient client(port_);
        subscribe(client, kMiner, 872);
        client.send(R"({"id":5,"method":"mining.submit","params":{"a":1}})"
                    "\n");
        EXPECT_EQ(client.read_message(), refused(5, 20, "Invalid share parameters"));
        client.send(submit_line(6, kSeedNonce, kMiner, kSeedDigest, "1e30"));
        EXPECT_EQ(client.read_message(), refused(6, 20, "Invalid share parameters"));
        client.send(submit_line(7, kSeedNonce, kMiner, kSeedDigest, "123456789012345678901234567890"));
        EXPECT_EQ(client.read_message(), refused(7, 20, "Invalid share parameters"));
        client.send(R"({"id":8,"method":"mining.subscribe","params":"x"})"
                    "\n");
        EXPECT_EQ(client.read_message(), refused(8, 20, "Invalid ETH account"));
        EXPECT_TRUE(client.closed_by_server());
    }
    {
        LineClient client(port_);
        client.send("[1,2,3]\n");
        EXPECT_EQ(client.read_message(), refused_result_null("null", 20, "Unknown stratum method"));
        client.send("this is not json\n");
        EXPECT_TRUE(client.closed_by_server());
    }
    {
        LineClient client(port_);
        client.send(std::string(20000, 'x'));  // one unterminated line past --max-line-bytes
        EXPECT_TRUE(client.closed_by_server());
    }
    // Still serving.
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner));
    EXPECT_EQ(client.read_message(), accepted(1));
    client.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    client.read_line();  // the notify
    EXPECT_EQ(client.read_message(), accepted(4));
}

// (h) A subscribe with a client id gets JSON-RPC 2.0 replies; --reply-style forces a shape.
TEST_F(ServerTest, JsonRpc2ShapeWithClientId) {
    start_server({"--reply-style", "auto"});
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner, "MVis Tokenminer v2.3.0"));
    EXPECT_EQ(client.read_line(), R"({"id":1,"result":true})");
    EXPECT_EQ(client.read_line(), notify_line(kChallenge, kSeedTarget, 872));
    client.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_line(), R"({"id":4,"result":true})");
    client.send(submit_line(5, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_line(), R"({"id":5,"error":[22,"Duplicate share"]})");
}

TEST_F(ServerTest, ForcedLegacyStyle) {
    start_server({"--reply-style", "legacy"});
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner, "MVis Tokenminer v2.3.0"));
    EXPECT_EQ(client.read_line(), R"({"id":1,"result":true,"error":null})");
}

// (i) SIGTERM with shares in flight: every share answered true is in Redis, and the exit is clean.
TEST_F(ServerTest, SigtermKeepsEveryAcknowledgedShare) {
    start_server({"--batch-window-us", "20000"});
    auto d1 = load_d1();
    LineClient client(port_);
    subscribe(client, kMinerD1, 1);
    std::string burst;
    for (std::size_t i = 0; i < d1.size(); ++i)
        burst += submit_line(100 + int(i), d1[i].nonce, kMinerD1, d1[i].digest, "1");
    client.send(burst);
    std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(server_.signal(SIGTERM));
    std::vector<ServerLine> accepted_replies;
    for (std::size_t i = 0; i < d1.size(); ++i) accepted_replies.push_back(accepted(100 + i));
    std::vector<std::size_t> acknowledged;
    for (ServerLine line; (line = client.read_message(10000ms)).kind != ServerLine::Kind::none;) {
        for (std::size_t i = 0; i < d1.size(); ++i) {
            if (line == accepted_replies[i]) acknowledged.push_back(i);
        }
    }
    EXPECT_EQ(stop_server(), 0);
    std::string list = queued();
    for (auto i : acknowledged) EXPECT_NE(list.find(d1[i].nonce), std::string::npos) << "answered true, not queued";
    std::cout << acknowledged.size() << " of " << d1.size() << " answered true before the shutdown; "
              << count_lines(list) << " queued\n";
}

// No challengeNumber in Redis: subscribes are answered but no work is sent until one is published.
TEST_F(ServerTest, WaitsForAChallenge) {
    redis_->command({"DEL", "challengeNumber"});
    start_server();
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner));
    EXPECT_EQ(client.read_message(), accepted(1));
    EXPECT_FALSE(client.read_line(300ms)) << "work sent without a challenge";
    client.send(submit_line(4, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_message(), refused(4, 21, "Wrong challenge number"));
    redis_->command({"PUBLISH", "challengeNumber", kChallenge});
    EXPECT_EQ(client.read_message(), work(kChallenge, kSeedTarget, 872, kPool));
    client.send(submit_line(5, kSeedNonce, kMiner, kSeedDigest, "872"));
    EXPECT_EQ(client.read_message(), accepted(5));
}

// --config: `name = value` lines with comments; the command line wins.
TEST_F(ServerTest, ConfigFileAndCommandLineOverride) {
    // In the test-state directory (TMPDIR), which the suite empties before it runs.
    std::string path_text = (std::filesystem::temp_directory_path() / "sharegate-config-XXXXXX").string();
    char* path = path_text.data();
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string config = "# a comment\nreply-style = jsonrpc2   # trailing comment\n\nbatch-size = 16\n";
    ASSERT_EQ(::write(fd, config.data(), config.size()), static_cast<ssize_t>(config.size()));
    ::close(fd);
    start_server({"--config", path});
    {
        LineClient client(port_);
        client.send(subscribe_request(1, kMiner));
        EXPECT_EQ(client.read_message(), accepted(1, ReplyShape::jsonrpc2));
    }
    EXPECT_EQ(stop_server(), 0);
    start_server({"--config", path, "--reply-style", "legacy"});
    LineClient client(port_);
    client.send(subscribe_request(1, kMiner));
    EXPECT_EQ(client.read_message(), accepted(1));
    ::unlink(path);
}

// A client that sends without reading its replies is cut off (after the server stopped
// reading from it), and the server keeps serving everyone else meanwhile.
TEST_F(ServerTest, ClientThatNeverReadsIsDropped) {
    start_server();
    LineClient hog(port_);
    ASSERT_TRUE(hog.connected());
    std::atomic<bool> dropped{false};
    std::thread sender([&] {
        // Each line is answered with about 60 bytes; 20 MB of answers overflow every buffer.
        std::string chunk;
        for (int i = 0; i < 1000; ++i)
            chunk += R"({"id":1,"method":"x"})"
                     "\n";
        for (int i = 0; i < 400 && !dropped; ++i) {
            if (!hog.send_all(chunk)) {
                dropped = true;
                return;
            }
        }
    });
    // Others are served while the hog is being throttled.
    {
        LineClient other(port_);
        subscribe(other, kMiner, 872);
    }
    auto deadline = std::chrono::steady_clock::now() + 40s;
    while (!dropped && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(dropped) << "a client that never reads was not dropped";
    hog.shutdown_socket();  // unblocks the sender if it still waits
    sender.join();
    LineClient after(port_);
    subscribe(after, kMiner, 872);
}

// Work is sent again between 30 and 60 s after the last notify, so a miner never sees
// a silent pool (slow: it waits for the timer).
TEST_F(ServerTest, RenotifiesWithinSixtySeconds) {
    start_server();
    LineClient client(port_);
    subscribe(client, kMiner, 872);
    auto t0 = std::chrono::steady_clock::now();
    const ServerLine again = client.read_message(65000ms);
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(again, work(kChallenge, kSeedTarget, 872, kPool));
    EXPECT_GE(waited, 29s);
    EXPECT_LE(waited, 61s);
}

// Bad options: one line on stderr, exit 2.
TEST(ServerOptions, BadValuesExitTwo) {
    auto run = [](std::vector<std::string> args) {
        args.insert(args.begin(), SHAREGATE_BINARY);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid == 0) {
            int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, STDOUT_FILENO);
            ::dup2(null, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_EQ(run({"--version"}), 0);
    EXPECT_EQ(run({"--help"}), 0);
    EXPECT_EQ(run({}), 2);                                                                // no --pool-address
    EXPECT_EQ(run({"--pool-address", "0x1b7bfB694eE51913c347971c7090a74AEFbd41f7"}), 2);  // bad checksum
    EXPECT_EQ(run({"--pool-address", kPool, "--max-target-bits", "256"}), 2);
    EXPECT_EQ(run({"--pool-address", kPool, "--port", "x"}), 2);
    EXPECT_EQ(run({"--pool-address", kPool, "--verifier", "quantum"}), 2);
    EXPECT_EQ(run({"--pool-address", kPool, "--nonsense", "1"}), 2);
    EXPECT_EQ(run({"--config", "/nonexistent/sharegate.conf"}), 2);
}

// Runs the binary to its exit with `environment` added; returns the exit code and stderr.
std::pair<int, std::string> run_to_exit(std::vector<std::string> args, std::vector<std::string> environment = {}) {
    args.insert(args.begin(), SHAREGATE_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int err[2];
    if (::pipe(err) != 0) return {-1, "pipe failed"};
    pid_t pid = ::fork();
    if (pid == 0) {
        for (auto& e : environment) ::putenv(e.data());
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        ::close(err[0]);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(err[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(err[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

// A GPU verifier that cannot be had stops the server at start with one line and exit 1;
// it never falls back silently (only "auto" passes over what is missing).
TEST(ServerVerifier, MissingCudaDeviceExitsOneWithOneLine) {
    if (auto made = sharegate::make_verifier("cuda")) GTEST_SKIP() << "this machine has a CUDA device";
    const auto [code, err] = run_to_exit({"--pool-address", kPool, "--verifier", "cuda"});
    EXPECT_EQ(code, 1);
    EXPECT_TRUE(err.starts_with("sharegate: cuda: ")) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(ServerVerifier, NoOpenclPlatformExitsOneWithOneLine) {
    // The ICD loader finds its platforms through OCL_ICD_VENDORS: an empty directory
    // leaves it none, as on a machine without any OpenCL driver.
    char empty_dir[] = "/tmp/sharegate-no-icd-XXXXXX";
    ASSERT_NE(::mkdtemp(empty_dir), nullptr);
    const auto [code, err] =
        run_to_exit({"--pool-address", kPool, "--verifier", "opencl"}, {std::string("OCL_ICD_VENDORS=") + empty_dir});
    ::rmdir(empty_dir);
    EXPECT_EQ(code, 1);
    EXPECT_TRUE(err.starts_with("sharegate: opencl: ")) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(ServerVerifier, OpenclDeviceOptionsAreChecked) {
    EXPECT_EQ(run_to_exit({"--pool-address", kPool, "--opencl-platform", "-1"}).first, 2);
    EXPECT_EQ(run_to_exit({"--pool-address", kPool, "--opencl-device", "x"}).first, 2);
    // A platform that does not exist is the verifier's one-line refusal, not a crash.
    const auto [code, err] = run_to_exit({"--pool-address", kPool, "--verifier", "opencl", "--opencl-platform", "99"});
    EXPECT_EQ(code, 1);
    EXPECT_TRUE(err.starts_with("sharegate: opencl: ")) << err;
}

}  // namespace
