// The getwork door end to end (issue 14): the real binary, a real redis-server, real HTTP
// over loopback. Every method with the original's result types; the share corpus over
// HTTP, queued in the getwork shape; every rejection `false` and counted by reason; one
// share over both doors accepted once; the real clients' exact request shapes; malformed
// HTTP and JSON-RPC answered as documented while the server lives on; the defenses.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "defense_fixture.hpp"
#include "sharegate/u256.hpp"
#include "support/http_client.hpp"

namespace {

using namespace sharegate_defense_test;
using sharegate_test::HttpClient;
using sharegate_test::HttpResponse;

constexpr const char* kSeedNonce = sharegate_test::seed::kNonce;
constexpr const char* kSeedDigest = sharegate_test::seed::kDigest;

std::string result(const std::string& id, const std::string& value) {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":)" + value + "}";
}
std::string error(const std::string& id, int code, const std::string& message) {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":{"code":)" + std::to_string(code) + R"(,"message":")" +
           message + R"("}})";
}
std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string call(const std::string& id, const std::string& method, const std::string& params) {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":")" + method + R"(","params":)" + params + "}";
}
// submitShare's params as MVis-tokenminer sends them: nonce, miner, digest, difficulty, challenge.
std::string submit_params(const std::string& nonce, const std::string& miner, const std::string& digest,
                          const std::string& difficulty, const std::string& challenge = kChallenge) {
    return "[" + quoted(nonce) + "," + quoted(miner) + "," + quoted(digest) + "," + difficulty + "," +
           quoted(challenge) + "]";
}

// The entry the original's getwork path queues (docs/protocol.md section 3).
std::string getwork_entry(const std::string& nonce, const std::string& miner, const std::string& digest,
                          std::uint64_t difficulty, bool custom_vardiff) {
    return std::string(R"({"block":5600000,"nonce":")") + nonce + R"(","minerEthAddress":")" + miner +
           R"(","challengeNumber":")" + kChallenge + R"(","digest":")" + digest + R"(","difficulty":)" +
           std::to_string(difficulty) + R"(,"customVardiff":)" + (custom_vardiff ? "true" : "false") + "}";
}

class GetworkTest : public DefenseTest {
protected:
    std::uint16_t getwork_port() const { return server_.getwork_port(); }

    // queued_shares_list once it holds `expected` entries, else (after 15 s) as it is. "true"
    // promises the share is stored, not that it is in Redis yet: one that Redis did not take
    // within --redis-bound-ms (a busy machine) was spooled and reaches the list moments later.
    std::vector<std::string> queued(std::size_t expected) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (std::stoull(redis_->command({"LLEN", "queued_shares_list"})) < expected &&
               std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::vector<std::string> entries;
        const std::string list = redis_->command({"LRANGE", "queued_shares_list", "0", "-1"});
        for (std::size_t at = 0; at < list.size();) {
            const auto end = list.find('\n', at);
            entries.push_back(list.substr(at, end == std::string::npos ? std::string::npos : end - at));
            if (end == std::string::npos) break;
            at = end + 1;
        }
        return entries;
    }

    // The body of the answer to `body`, on a fresh connection; "" when there was none.
    std::string ask(const std::string& body) {
        HttpClient client(getwork_port());
        auto response = client.post(body);
        if (!response) return "<no response>";
        EXPECT_EQ(response->status, response->body.empty() ? 204 : 200) << response->body;
        return response->body;
    }

    // The latest getwork statistics line once it holds `part`, else (after 15 s) the latest.
    std::string getwork_stats_line_with(const std::string& part) {
        std::string line;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        do {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            const std::string text = log();
            const auto at = text.rfind("getwork: ");
            if (at != std::string::npos) line = text.substr(at, text.find('\n', at) - at);
        } while (line.find(part) == std::string::npos && std::chrono::steady_clock::now() < until);
        return line;
    }

    // The server's "totals since start" line, after a SIGTERM.
    std::string totals_after_stop() {
        EXPECT_EQ(server_.stop(), 0);
        const std::string text = log();
        const auto at = text.rfind("totals since start: ");
        return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
    }
};

TEST_F(GetworkTest, EveryMethodAnswersWithTheOriginalsTypes) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--allow-custom-vardiff", "true"}));
    EXPECT_EQ(ask(call("1", "ping", "[]")), result("1", R"("pong")"));
    EXPECT_EQ(ask(call("2", "getPoolProtocolVersion", "[]")), result("2", R"("1.02")"));
    EXPECT_EQ(ask(call("3", "getPoolEthAddress", "[]")), result("3", quoted(kPool)));
    EXPECT_EQ(ask(call("4", "getChallengeNumber", "[]")), result("4", quoted(kChallenge)));
    // The seed miner's varDiff is 872 (tests/support/pool_state.hpp): a JSON number.
    EXPECT_EQ(ask(call("5", "getMinimumShareDifficulty", "[" + quoted(kMiner) + "]")), result("5", "872"));
    // Its target: 2^234 / 872, a decimal string.
    const std::string target = sharegate::share_target(234, 872).to_decimal();
    EXPECT_EQ(ask(call("6", "getMinimumShareTarget", "[" + quoted(kMiner) + "]")), result("6", quoted(target)));
    // No address, or not one: the pool minimum (1).
    EXPECT_EQ(ask(call("7", "getMinimumShareDifficulty", "[]")), result("7", "1"));
    EXPECT_EQ(ask(call("8", "getMinimumShareDifficulty", R"(["not-an-address"])")), result("8", "1"));
    EXPECT_EQ(ask(call("9", "getMinimumShareTarget", R"(["0x12"])")),
              result("9", quoted(sharegate::share_target(234, 1).to_decimal())));
    EXPECT_EQ(ask(call("10", "allowingCustomVardiff", "[]")), result("10", "true"));
    // A miner Redis has never seen gets the original's default entry (varDiff 4000).
    EXPECT_EQ(ask(call("11", "getMinimumShareDifficulty", R"(["0x00000000000000000000000000000000000000a1"])")),
              result("11", "4000"));
}

TEST_F(GetworkTest, AllowingCustomVardiffIsThePoolsSetting) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    EXPECT_EQ(ask(call("1", "allowingCustomVardiff", "[]")), result("1", "false"));
}

// The 200 difficulty-1 vectors over HTTP, one keep-alive connection, MVis-tokenminer's
// request shape: every one true, and queued exactly as the original's getwork path queues.
TEST_F(GetworkTest, TheShareCorpusIsQueuedInTheGetworkShape) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-submits-per-s", "0"}));
    const auto d1 = load_d1();
    ASSERT_EQ(d1.size(), 200u);
    HttpClient client(getwork_port());
    for (const auto& share : d1) {
        auto response =
            client.post(call("1", "submitShare", submit_params(share.nonce, kMinerD1, share.digest, "1")) + "\n",
                        "charsets: utf-8\r\n");
        ASSERT_TRUE(response) << share.nonce;
        ASSERT_EQ(response->body, result("1", "true")) << share.nonce;
    }
    const auto entries = queued(200);
    ASSERT_EQ(entries.size(), 200u);
    // LPUSH: the newest first.
    for (std::size_t i = 0; i < d1.size(); ++i)
        EXPECT_EQ(entries[d1.size() - 1 - i], getwork_entry(d1[i].nonce, kMinerD1, d1[i].digest, 1, false)) << i;
}

// Every refusal is `false` (the original's shape) and counted by its reason.
TEST_F(GetworkTest, EveryRejectionIsFalseAndCountedByReason) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    const auto d1 = load_d1();
    const std::string other_challenge = std::string(kChallenge).substr(0, 65) + "f";
    const std::string bad_digest = std::string(d1[1].digest).substr(0, 65) + (d1[1].digest.back() == '0' ? "1" : "0");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"stale", submit_params(d1[0].nonce, kMinerD1, d1[0].digest, "1", other_challenge)},
        {"invalid-digest", submit_params(d1[1].nonce, kMinerD1, bad_digest, "1")},
        // The seed miner's varDiff is 872: difficulty 1 is below it.
        {"low-diff", submit_params(kSeedNonce, kMiner, kSeedDigest, "1")},
        {"params", submit_params("0x1234", kMinerD1, d1[2].digest, "1")},
        {"account", submit_params(d1[3].nonce, "not-an-address", d1[3].digest, "1")},
    };
    for (const auto& [reason, params] : cases)
        EXPECT_EQ(ask(call("7", "submitShare", params)), result("7", "false")) << reason;
    // Accepted once, then a duplicate.
    EXPECT_EQ(ask(call("8", "submitShare", submit_params(d1[4].nonce, kMinerD1, d1[4].digest, "1"))),
              result("8", "true"));
    EXPECT_EQ(ask(call("9", "submitShare", submit_params(d1[4].nonce, kMinerD1, d1[4].digest, "1"))),
              result("9", "false"));
    EXPECT_EQ(queued(1).size(), 1u);
    const std::string totals = totals_after_stop();
    EXPECT_NE(totals.find("accepted 1, rejected 6 ("), std::string::npos) << totals;
    for (const char* reason : {"stale=1", "invalid-digest=1", "low-diff=1", "params=1", "account=1", "duplicate=1"})
        EXPECT_NE(totals.find(reason), std::string::npos) << reason << " in " << totals;
}

// One share, two doors: the same duplicate filter, so it is accepted once.
TEST_F(GetworkTest, AShareSentOverBothDoorsIsAcceptedOnce) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    const auto d1 = load_d1();
    LineClient stratum(port_);
    stratum.send(subscribe_request(1, kMinerD1));
    ASSERT_EQ(stratum.read_message(), accepted(1));
    ASSERT_TRUE(stratum.read_message().is_notify());
    stratum.send(d1_submit(2, d1[0]));
    EXPECT_EQ(stratum.read_message(), accepted(2));
    EXPECT_EQ(ask(call("3", "submitShare", submit_params(d1[0].nonce, kMinerD1, d1[0].digest, "1"))),
              result("3", "false"));
    // And the other way round.
    EXPECT_EQ(ask(call("4", "submitShare", submit_params(d1[1].nonce, kMinerD1, d1[1].digest, "1"))),
              result("4", "true"));
    stratum.send(d1_submit(5, d1[1]));
    EXPECT_EQ(stratum.read_message(), sharegate_test::refused(5, 22, "Duplicate share"));
    EXPECT_EQ(queued(2).size(), 2u);
}

// The real clients' exact request shapes (docs/protocol.md section 3, the client table).
TEST_F(GetworkTest, TheRealClientsRequestShapes) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-submits-per-s", "0"}));
    const auto d1 = load_d1();
    const std::string miner = kMinerD1;
    // MVis-tokenminer: one batch of four queries with numeric ids, a trailing newline.
    {
        const std::string body = "[" + call("1", "getChallengeNumber", "[" + quoted(miner) + "]") + "," +
                                 call("2", "getPoolEthAddress", "[" + quoted(miner) + "]") + "," +
                                 call("3", "getMinimumShareTarget", "[" + quoted(miner) + "]") + "," +
                                 call("4", "getMinimumShareDifficulty", "[" + quoted(miner) + "]") + "]\n";
        EXPECT_EQ(ask(body), "[" + result("1", quoted(kChallenge)) + "," + result("2", quoted(kPool)) + "," +
                                 result("3", quoted(sharegate::share_target(234, 1).to_decimal())) + "," +
                                 result("4", "1") + "]");
    }
    // 0xbitcoin-miner: UUID string ids, params [].
    {
        const std::string id = R"("0b6e3c1e-6f0e-4a57-9a54-3cde6f1a9d2b")";
        EXPECT_EQ(ask(R"({"method":"getPoolEthAddress","jsonrpc":"2.0","params":[],"id":)" + id + "}"),
                  result(id, quoted(kPool)));
        EXPECT_EQ(ask(R"({"method":"submitShare","jsonrpc":"2.0","params":)" +
                      submit_params(d1[0].nonce, miner, d1[0].digest, "1") + R"(,"id":)" + id + "}"),
                  result(id, "true"));
    }
    // SoliditySHA3Miner: no params member, id "1", seven strings (difficulty and the 6th as strings).
    {
        EXPECT_EQ(ask(R"({"jsonrpc":"2.0","id":"1","method":"getChallengeNumber"})"),
                  result(R"("1")", quoted(kChallenge)));
        const std::string params = "[" + quoted(d1[1].nonce) + "," + quoted(miner) + "," + quoted(d1[1].digest) +
                                   R"(,"1",)" + quoted(kChallenge) + R"(,"true",)" + quoted(kPool) + "]";
        EXPECT_EQ(ask(R"({"jsonrpc":"2.0","id":"1","method":"submitShare","params":)" + params + "}"),
                  result(R"("1")", "true"));
    }
    // COSMiC: id "cosmic", the difficulty as a floating-point number.
    {
        EXPECT_EQ(ask(call(R"("cosmic")", "getMinimumShareDifficulty", "[" + quoted(miner) + "]")),
                  result(R"("cosmic")", "1"));
        EXPECT_EQ(ask(call(R"("cosmic")", "submitShare", submit_params(d1[2].nonce, miner, d1[2].digest, "1.0"))),
                  result(R"("cosmic")", "true"));
    }
    // nabiki: a batch with string ids; difficulty as a decimal string, the 6th a number.
    {
        const std::string body = "[" + call(R"("addr")", "getPoolEthAddress", "[]") + "," +
                                 call(R"("chal")", "getChallengeNumber", "[]") + "," +
                                 call(R"("diff")", "getMinimumShareDifficulty", "[" + quoted(miner) + "]") + "]";
        EXPECT_EQ(ask(body), "[" + result(R"("addr")", quoted(kPool)) + "," + result(R"("chal")", quoted(kChallenge)) +
                                 "," + result(R"("diff")", "1") + "]");
        const std::string params = "[" + quoted(d1[3].nonce) + "," + quoted(miner) + "," + quoted(d1[3].digest) +
                                   R"(,"1",)" + quoted(kChallenge) + ",1]";
        EXPECT_EQ(ask("[" + call(R"("sub")", "submitShare", params) + "]"), "[" + result(R"("sub")", "true") + "]");
    }
    // What was queued: each with the 6th parameter as sent (absent: false).
    const auto entries = queued(4);
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_EQ(entries[3], getwork_entry(d1[0].nonce, miner, d1[0].digest, 1, false));
    EXPECT_EQ(entries[2], getwork_entry(d1[1].nonce, miner, d1[1].digest, 1, true));
    EXPECT_EQ(entries[1], getwork_entry(d1[2].nonce, miner, d1[2].digest, 1, false));
    EXPECT_EQ(entries[0], getwork_entry(d1[3].nonce, miner, d1[3].digest, 1, true));
}

// JSON-RPC that is wrong in every way gets its documented error; notifications get no body.
TEST_F(GetworkTest, MalformedJsonRpcGetsTheStandardErrors) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--getwork-max-batch", "5"}));
    EXPECT_EQ(ask("this is not json"), error("null", -32700, "Parse error"));
    EXPECT_EQ(ask("42"), error("null", -32600, "Invalid Request"));
    EXPECT_EQ(ask("[]"), error("null", -32600, "Invalid Request"));
    std::string six = "[";
    for (int i = 0; i < 6; ++i) six += (i ? "," : "") + call(std::to_string(i), "ping", "[]");
    EXPECT_EQ(ask(six + "]"), error("null", -32600, "Invalid Request: batch too large"));
    EXPECT_EQ(ask(R"({"jsonrpc":"1.0","id":1,"method":"ping"})"), error("1", -32600, "Invalid Request"));
    EXPECT_EQ(ask(call("2", "mining.subscribe", "[]")), error("2", -32601, "Method not found"));
    EXPECT_EQ(ask(R"({"jsonrpc":"2.0","id":3,"method":"submitShare","params":["0x1"]})"),
              error("3", -32602, "Invalid params"));
    EXPECT_EQ(ask(R"({"jsonrpc":"2.0","id":4,"method":"ping","params":{"a":1}})"),
              error("4", -32602, "Invalid params"));
    // A notification: run, not answered (204).
    EXPECT_EQ(ask(R"({"jsonrpc":"2.0","method":"ping"})"), "");
    // In a batch, a bad element gets its error and the others their answers.
    EXPECT_EQ(ask("[1," + call("5", "ping", "[]") + "]"),
              "[" + error("null", -32600, "Invalid Request") + "," + result("5", R"("pong")") + "]");
    // Still serving.
    EXPECT_EQ(ask(call("6", "ping", "[]")), result("6", R"("pong")"));
    // Each counted by its reason in the statistics line.
    const std::string expected =
        "bodies refused: not JSON 1, too deep 0, not a request 2, batch too large 1; calls "
        "refused: invalid 2, no such method 1, bad params 2;";
    EXPECT_NE(getwork_stats_line_with(expected).find(expected), std::string::npos);
}

// Malformed HTTP, oversized bodies and headers, other methods, slow senders: each gets its
// status, and the server lives on.
TEST_F(GetworkTest, MalformedHttpGetsItsStatusAndTheServerLivesOn) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--getwork-max-body-bytes", "4096", "--getwork-request-timeout-s", "1"}));
    {
        HttpClient client(getwork_port());
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 405);
        EXPECT_EQ(response->headers["allow"], "POST");
        // The connection stays open for a POST.
        auto next = client.post(call("1", "ping", "[]"));
        ASSERT_TRUE(next);
        EXPECT_EQ(next->body, result("1", R"("pong")"));
    }
    {
        HttpClient client(getwork_port());
        client.send("this is not http\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 400);
        EXPECT_TRUE(client.closed_by_server());
    }
    {
        HttpClient client(getwork_port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 413);
        EXPECT_TRUE(client.closed_by_server());
    }
    {
        HttpClient client(getwork_port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(20000, 'a') + "\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 431);
        EXPECT_TRUE(client.closed_by_server());
    }
    {
        // A request begun and never finished: cut after the request timeout (1 s).
        HttpClient client(getwork_port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"jsonrpc\"");
        auto response = client.read_response(std::chrono::milliseconds(5000));
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 408);
        EXPECT_TRUE(client.closed_by_server());
    }
    EXPECT_EQ(ask(call("2", "ping", "[]")), result("2", R"("pong")"));
    // The statistics line counts each refusal by its reason (once the refusals are in it).
    const std::string getwork_line = getwork_stats_line_with("too slow 1");
    for (const char* part : {"malformed 1", "not POST 1", "body too large 1", "header too large 1", "too slow 1"})
        EXPECT_NE(getwork_line.find(part), std::string::npos) << part << " in " << getwork_line;
}

// The abuse defenses apply to this door: invalid shares from one address ban it (its
// connection closed, new ones refused), while another address is served.
TEST_F(GetworkTest, InvalidSharesOverHttpBanTheAddress) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--ban-times", "600"}));
    const auto d1 = load_d1();
    HttpClient flooder(getwork_port(), "127.0.0.2");
    ASSERT_TRUE(flooder.connected());
    bool cut = false;
    for (int i = 0; i < 200 && !cut; ++i) {
        const auto& share = d1[static_cast<std::size_t>(i) % d1.size()];
        const std::string bad = std::string(share.digest).substr(0, 65) + (share.digest.back() == '0' ? "1" : "0");
        auto response =
            flooder.post(call(std::to_string(i), "submitShare", submit_params(share.nonce, kMinerD1, bad, "1")), {},
                         std::chrono::milliseconds(3000));
        if (!response)
            cut = true;
        else
            EXPECT_EQ(response->body, result(std::to_string(i), "false"));
    }
    EXPECT_TRUE(cut) << "the flooder was never cut";
    EXPECT_TRUE(wait_for_log(log_path_, "banned 127.0.0.2")) << log();
    HttpClient again(getwork_port(), "127.0.0.2");
    EXPECT_FALSE(again.post(call("1", "ping", "[]"), {}, std::chrono::milliseconds(3000)))
        << "a banned address was served";
    HttpClient honest(getwork_port(), "127.0.0.3");
    auto response = honest.post(call("1", "submitShare", submit_params(d1[0].nonce, kMinerD1, d1[0].digest, "1")));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, result("1", "true"));
}

// Over the rate limit, a submit is `false` and counted (and counts toward a ban).
TEST_F(GetworkTest, SubmitsOverTheRateLimitAreFalse) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-submits-per-s", "1", "--submit-burst", "2"}));
    const auto d1 = load_d1();
    HttpClient client(getwork_port(), "127.0.0.4");
    std::string batch = "[";
    for (int i = 0; i < 5; ++i)
        batch += (i ? "," : "") + call(std::to_string(i), "submitShare",
                                       submit_params(d1[static_cast<std::size_t>(i)].nonce, kMinerD1,
                                                     d1[static_cast<std::size_t>(i)].digest, "1"));
    auto response = client.post(batch + "]");
    ASSERT_TRUE(response);
    // The burst of two passes; the next three (within far less than a second) do not.
    EXPECT_EQ(response->body, "[" + result("0", "true") + "," + result("1", "true") + "," + result("2", "false") + "," +
                                  result("3", "false") + "," + result("4", "false") + "]");
    const std::string totals = totals_after_stop();
    EXPECT_NE(totals.find("rate-limited=3"), std::string::npos) << totals;
}

// A server without the door: nothing listens for it.
TEST_F(GetworkTest, PortZeroTurnsTheDoorOff) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--getwork-port", "0"}));
    HttpClient client(getwork_port());
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(log().find("getwork (HTTP JSON-RPC) on"), std::string::npos);
}

}  // namespace
