// The admin endpoint end to end (issue 15): the real binary, a real redis-server, real HTTP
// over loopback. /metrics counts what the miners did (by door, verdict and reason, with
// the histograms behind them) and passes `promtool check metrics`; /readyz says why a load
// balancer should not send miners here, and changes its answer when the cause goes;
// /healthz answers while the process serves; a taken admin port stops the start; off
// means no port at all.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "defense_fixture.hpp"
#include "support/http_client.hpp"

namespace {

using namespace sharegate_defense_test;
using sharegate_test::HttpClient;
using sharegate_test::HttpResponse;
using sharegate_test::refused;

// One GET on a fresh connection; nullopt when nothing answered.
std::optional<HttpResponse> get(std::uint16_t port, const std::string& path) {
    HttpClient client(port);
    if (!client.connected() || !client.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        return std::nullopt;
    return client.read_response();
}

// The samples of an exposition: "name{labels}" -> value, labels as the server wrote them.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find('\n', at);
        const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos) continue;
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

// `promtool check metrics` on `text`: its exit status and what it printed.
std::pair<int, std::string> promtool_check(const std::string& text) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto input = dir / ("sharegate-metrics-" + std::to_string(::getpid()) + ".txt");
    const auto output = dir / ("sharegate-promtool-" + std::to_string(::getpid()) + ".out");
    { std::ofstream(input) << text; }
    const std::string command = "promtool check metrics < '" + input.string() + "' > '" + output.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(output);
    std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(input);
    std::filesystem::remove(output);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, printed};
}

std::string getwork_submit(const VectorShare& share, const std::string& challenge = kChallenge) {
    return R"({"jsonrpc":"2.0","id":1,"method":"submitShare","params":[")" + share.nonce + R"(",")" + kMinerD1 +
           R"(",")" + share.digest + R"(",1,")" + challenge + R"("]})";
}

class AdminTest : public DefenseTest {
protected:
    std::uint16_t admin_port() const { return server_.admin_port(); }

    std::map<std::string, double> scrape() {
        auto response = get(admin_port(), "/metrics");
        EXPECT_TRUE(response) << "no answer from /metrics";
        if (!response) return {};
        EXPECT_EQ(response->status, 200);
        EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        return samples(response->body);
    }

    // /readyz once its status is `status` (or the last answer after 15 s).
    std::optional<HttpResponse> readyz_when(int status) {
        std::optional<HttpResponse> response;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        do {
            response = get(admin_port(), "/readyz");
            if (response && response->status == status) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        } while (std::chrono::steady_clock::now() < until);
        return response;
    }
};

TEST_F(AdminTest, MetricsCountEverySubmitByDoorVerdictAndReasonAndPassPromtool) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--max-submits-per-s", "0"}));
    const auto d1 = load_d1();
    ASSERT_GE(d1.size(), 5u);

    // Stratum: accepted, then the same share again (duplicate), then a digest off by one bit.
    LineClient miner(port_);
    miner.send(subscribe_request(1, kMinerD1));
    ASSERT_EQ(miner.read_message(), accepted(1));
    ASSERT_TRUE(miner.read_message().is_notify());
    miner.send(d1_submit(2, d1[0]));
    EXPECT_EQ(miner.read_message(), accepted(2));
    miner.send(d1_submit(3, d1[0]));
    EXPECT_EQ(miner.read_message(), refused(3, 22, "Duplicate share"));
    VectorShare bad = d1[1];
    bad.digest.back() = bad.digest.back() == '0' ? '1' : '0';
    miner.send(d1_submit(4, bad));
    EXPECT_EQ(miner.read_message(), refused(4, 20, "Invalid digest"));

    // Getwork: accepted, then one for another challenge (stale).
    HttpClient getwork(server_.getwork_port());
    auto answer = getwork.post(getwork_submit(d1[2]));
    ASSERT_TRUE(answer);
    EXPECT_NE(answer->body.find("true"), std::string::npos) << answer->body;
    answer = getwork.post(getwork_submit(d1[3], std::string(kChallenge).substr(0, 65) + "f"));
    ASSERT_TRUE(answer);
    EXPECT_NE(answer->body.find("false"), std::string::npos) << answer->body;

    const auto m = scrape();
    auto at = [&](const std::string& key) {
        const auto it = m.find(key);
        EXPECT_NE(it, m.end()) << key << " is not in /metrics";
        return it == m.end() ? -1.0 : it->second;
    };
    EXPECT_EQ(at(R"(sharegate_submits_total{door="stratum",verdict="accepted",reason="none",code="0"})"), 1);
    EXPECT_EQ(at(R"(sharegate_submits_total{door="stratum",verdict="rejected",reason="duplicate",code="22"})"), 1);
    EXPECT_EQ(at(R"(sharegate_submits_total{door="stratum",verdict="rejected",reason="invalid_digest",code="20"})"), 1);
    EXPECT_EQ(at(R"(sharegate_submits_total{door="getwork",verdict="accepted",reason="none",code="0"})"), 1);
    EXPECT_EQ(at(R"(sharegate_submits_total{door="getwork",verdict="rejected",reason="stale",code="21"})"), 1);
    EXPECT_EQ(at(R"(sharegate_submits_total{door="getwork",verdict="rejected",reason="duplicate",code="22"})"), 0);
    // Every answer's latency was observed, once.
    EXPECT_EQ(at(R"(sharegate_reply_seconds_count{door="stratum"})"), 3);
    EXPECT_EQ(at(R"(sharegate_reply_seconds_count{door="getwork"})"), 2);
    EXPECT_EQ(at(R"(sharegate_reply_seconds_bucket{door="stratum",le="+Inf"})"), 3);
    EXPECT_GT(at(R"(sharegate_reply_seconds_sum{door="stratum"})"), 0);
    // Three shares reached the verifier (the duplicate and the stale one did not); two
    // were pushed to Redis.
    std::string backend;
    for (const auto& [key, value] : m) {
        if (key.rfind("sharegate_batch_shares_sum{backend=\"", 0) == 0) {
            backend = key.substr(36, key.size() - 38);
            EXPECT_EQ(value, 3) << key;
        }
    }
    EXPECT_EQ(backend.rfind("cpu", 0), 0u) << "backend label: " << backend;
    EXPECT_GE(at(R"(sharegate_verify_seconds_count{backend=")" + backend + "\"}"), 1);
    EXPECT_EQ(at("sharegate_redis_push_seconds_count"), 2);
    EXPECT_EQ(at("sharegate_redis_shares_pushed_total"), 2);
    EXPECT_EQ(at("sharegate_redis_up"), 1);
    EXPECT_EQ(at("sharegate_subscribes_total"), 1);
    EXPECT_GE(at("sharegate_notifies_total"), 1);
    EXPECT_EQ(at(R"(sharegate_connections_open{door="stratum"})"), 1);
    EXPECT_EQ(at(R"(sharegate_connections_accepted_total{door="stratum"})"), 1);
    EXPECT_EQ(at(R"(sharegate_connections_accepted_total{door="getwork"})"), 1);
    EXPECT_EQ(at("sharegate_challenge_known"), 1);
    EXPECT_EQ(at("sharegate_ready"), 1);
    EXPECT_EQ(at("sharegate_spool_shares"), 0);
    EXPECT_GT(at("process_resident_memory_bytes"), 0);
    EXPECT_GT(at("process_open_fds"), 0);
    EXPECT_EQ(m.count("sharegate_build_info{version=\"" SHAREGATE_VERSION "\",verifier=\"" + backend + "\"}"), 1u);

    // The live page, with every series in it, is valid exposition format.
    auto page = get(admin_port(), "/metrics");
    ASSERT_TRUE(page);
    const auto [status, printed] = promtool_check(page->body);
    EXPECT_EQ(status, 0) << "promtool check metrics (Debian package prometheus): " << printed;
    EXPECT_EQ(printed, "") << printed;
}

TEST_F(AdminTest, BansAndClosesAreCounted) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--ban-junk-lines", "2"}));
    for (int i = 0; i < 2; ++i) {
        auto junk = connect("127.0.0.7");
        junk->send("this is not json\n");
        EXPECT_TRUE(junk->closed_by_server(5000ms));
    }
    // The ban is made as the second line is judged; its log line says it has been.
    ASSERT_TRUE(wait_for_log(log_path_, "banned 127.0.0.7")) << log();
    auto refused_one = connect("127.0.0.7");
    expect_refused(*refused_one, "a banned address");
    const auto m = scrape();
    EXPECT_EQ(m.at(R"(sharegate_bans_total{reason="junk"})"), 1);
    EXPECT_EQ(m.at(R"(sharegate_bans_total{reason="invalid_shares"})"), 0);
    EXPECT_EQ(m.at("sharegate_bans_active"), 1);
    EXPECT_EQ(m.at(R"(sharegate_connections_closed_total{reason="not_json"})"), 2);
    EXPECT_EQ(m.at(R"(sharegate_connections_refused_total{reason="banned"})"), 1);
}

// Without a spool, Redis is where shares go: not ready without it. Without a challenge
// nobody can mine: not ready either. Each reason goes when its cause does.
TEST_F(AdminTest, ReadyzSaysWhyNotAndRecovers) {
    redis_->command({"DEL", "challengeNumber"});
    ASSERT_NO_FATAL_FAILURE(start_server({"--spool-dir", "off"}));
    auto response = get(admin_port(), "/readyz");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_NE(response->body.find("not ready: no challenge known"), std::string::npos) << response->body;
    EXPECT_EQ(scrape().at("sharegate_ready"), 0);

    redis_->command({"SET", "challengeNumber", std::string("\"") + kChallenge + "\""});
    redis_->command({"PUBLISH", "challengeNumber", std::string("\"") + kChallenge + "\""});
    response = readyz_when(200);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << response->body;
    EXPECT_EQ(response->body, "ready\n");

    redis_->kill_hard();
    response = readyz_when(503);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_NE(response->body.find("not ready: redis unreachable (no spool)"), std::string::npos) << response->body;
    // Alive all along.
    response = get(admin_port(), "/healthz");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok\n");
    EXPECT_EQ(scrape().at("sharegate_redis_up"), 0);

    redis_->start();
    sharegate_test::write_pool_state(*redis_);
    response = readyz_when(200);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << response->body;
}

// With a spool, Redis down is survivable: still ready (the spool takes the shares).
TEST_F(AdminTest, WithASpoolRedisDownIsStillReady) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    // Ready once the challenge has been read from Redis, a moment after the port opens.
    auto ready = readyz_when(200);
    ASSERT_TRUE(ready);
    ASSERT_EQ(ready->status, 200) << ready->body;
    redis_->kill_hard();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (scrape().at("sharegate_redis_up") != 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(scrape().at("sharegate_redis_up"), 0);
    auto response = get(admin_port(), "/readyz");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << response->body;
    redis_->start();
}

TEST_F(AdminTest, UnknownPathsAndMethodsAreRefused) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    auto response = get(admin_port(), "/nothing-here");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    HttpClient client(admin_port());
    ASSERT_TRUE(client.send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405);
}

// A taken admin port stops the start (exit 1), like a taken stratum port.
TEST_F(AdminTest, ATakenAdminPortStopsTheStart) {
    const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(holder, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(holder, 1), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const std::string taken = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

    sharegate_test::ServerProcess server;
    const std::string why = server.start(SHAREGATE_BINARY, *redis_, kPool, {"--admin-listen", taken});
    EXPECT_NE(why.find("exited at start-up (status 1)"), std::string::npos) << why;
    ::close(holder);
}

TEST_F(AdminTest, OffMeansNoAdminPort) {
    ASSERT_NO_FATAL_FAILURE(start_server({"--admin-listen", "off"}));
    HttpClient client(admin_port());
    EXPECT_FALSE(client.connected());
    // The miners' ports serve as ever.
    expect_served(*connect("127.0.0.1"), 5, "stratum with the admin endpoint off");
}

}  // namespace
