// The PROXY header handshake (frontend/server/proxy_handshake.hpp) on real loopback
// sockets: a header split across writes, a header with the first stratum bytes behind it,
// the deadline, a peer that closes, a malformed header; each time `done` is called exactly
// once, on the socket's strand, with the socket handed back open.
#include "server/proxy_handshake.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sharegate_test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using sharegate::server::ProxyHandshakeResult;
using sharegate::server::read_proxy_header;
using Bytes16 = std::array<std::uint8_t, 16>;
using namespace std::chrono_literals;

constexpr auto kNeverReached = 60s;  // a deadline no test waits for
const std::string kStratumLine =
    R"({"id":1,"method":"mining.subscribe","params":["0xB8f6A4f8C5D83a5CE4fc9D1c1bB7A5FAb07A2f9b","x"]})"
    "\n";
const std::string kV1Header = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r\n";
const Bytes16 kV1Source{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 1};

std::string v2(std::uint8_t version_command, std::uint8_t family, const std::string& body) {
    std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
    out += static_cast<char>(version_command);
    out += static_cast<char>(family);
    out += static_cast<char>(body.size() >> 8);
    out += static_cast<char>(body.size() & 0xff);
    return out + body;
}

// 2001:db8::7 port 4242 -> 2001:db8::1 port 9192
std::string v6_addresses() {
    std::string out(36, '\0');
    out[0] = '\x20', out[1] = '\x01', out[2] = '\x0d', out[3] = '\xb8', out[15] = '\x07';
    out[16] = '\x20', out[17] = '\x01', out[18] = '\x0d', out[19] = '\xb8', out[31] = '\x01';
    out[32] = '\x10', out[33] = '\x92', out[34] = '\x23', out[35] = '\xe8';
    return out;
}

// One connection over loopback: the client end, and the server end given to the
// handshake on a strand of its own, as the server accepts.
class ProxyHandshakeTest : public testing::Test {
protected:
    void start(std::chrono::milliseconds deadline) {
        client_.connect(acceptor_.local_endpoint());
        client_.set_option(tcp::no_delay(true));
        tcp::socket server(strand_);
        acceptor_.accept(server);
        server_fd_ = server.native_handle();
        read_proxy_header(std::move(server), deadline, [this](tcp::socket socket, ProxyHandshakeResult result) {
            ++calls_;
            on_strand_ = strand_.running_in_this_thread();
            socket_.emplace(std::move(socket));
            result_ = std::move(result);
        });
        EXPECT_EQ(calls_, 0) << "done must never be called from inside read_proxy_header";
    }

    void send(std::string_view bytes) { asio::write(client_, asio::buffer(bytes)); }

    bool unread_bytes_on_server() const {
        char byte = 0;
        return ::recv(server_fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
    }

    // Runs the handshake until it has read everything sent so far (without finishing).
    void run_until_consumed() {
        while (calls_ == 0 && unread_bytes_on_server() && io_.run_one() > 0) {
        }
        ASSERT_FALSE(unread_bytes_on_server());
    }

    // Runs until done is called, then until no work is left, so that a second call
    // would show.
    const ProxyHandshakeResult& finish() {
        while (calls_ == 0 && io_.run_one() > 0) {
        }
        io_.restart();
        io_.run();
        EXPECT_EQ(calls_, 1);
        EXPECT_TRUE(on_strand_);
        EXPECT_TRUE(socket_ && socket_->is_open()) << "the socket comes back open";
        return result_;
    }

    // What the handed-back socket still holds, up to the client's end of stream.
    std::string read_rest() {
        client_.shutdown(tcp::socket::shutdown_send);
        socket_->non_blocking(false);
        std::string rest;
        boost::system::error_code error;
        asio::read(*socket_, asio::dynamic_buffer(rest), error);
        EXPECT_EQ(error, asio::error::eof);
        return rest;
    }

    asio::io_context io_;
    asio::strand<asio::io_context::executor_type> strand_ = asio::make_strand(io_);
    tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    tcp::socket client_{io_};
    int server_fd_ = -1;
    int calls_ = 0;
    bool on_strand_ = false;
    std::optional<tcp::socket> socket_;
    ProxyHandshakeResult result_;
};

TEST_F(ProxyHandshakeTest, V1SplitAcrossWrites) {
    start(kNeverReached);
    send("PROXY TCP4 192.1");
    run_until_consumed();
    send("68.0.1 10.0.0.2 5632");
    run_until_consumed();
    send("4 9192\r");
    run_until_consumed();
    EXPECT_EQ(calls_, 0);
    send("\n");
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_EQ(result.source, kV1Source);
    EXPECT_EQ(result.source_port, 56324);
    EXPECT_EQ(result.leftover, "");
    EXPECT_EQ(read_rest(), "");
}

TEST_F(ProxyHandshakeTest, V2ByteByByte) {
    const std::string header = v2(0x21, 0x21, v6_addresses());
    start(kNeverReached);
    for (std::size_t i = 0; i + 1 < header.size(); ++i) {
        send(header.substr(i, 1));
        run_until_consumed();
        ASSERT_EQ(calls_, 0) << "finished after byte " << i;
    }
    send(header.substr(header.size() - 1) + kStratumLine);
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_EQ(result.source, (Bytes16{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}));
    EXPECT_EQ(result.source_port, 4242);
    EXPECT_EQ(result.leftover, kStratumLine);
}

TEST_F(ProxyHandshakeTest, HeaderAndFirstLineInOneWrite) {
    start(kNeverReached);
    send(kV1Header + kStratumLine);
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_EQ(result.source, kV1Source);
    EXPECT_EQ(result.leftover, kStratumLine);
    // The socket is the session's from here: what comes next is read from it.
    send(kStratumLine);
    EXPECT_EQ(read_rest(), kStratumLine);
}

TEST_F(ProxyHandshakeTest, ReadsAtMostOneBufferPastTheHeader) {
    std::string stratum;
    while (stratum.size() < 20000) stratum += kStratumLine;
    start(kNeverReached);
    send(kV1Header + stratum);
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_LE(result.leftover.size(), 4096u);
    // Nothing is lost or reordered between the leftover and the socket.
    const std::string leftover = result.leftover;
    EXPECT_EQ(leftover + read_rest(), stratum);
}

TEST_F(ProxyHandshakeTest, LocalKeepsThePeerAddress) {
    start(kNeverReached);
    send(v2(0x20, 0x00, "") + kStratumLine);
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_FALSE(result.source.has_value());
    EXPECT_EQ(result.source_port, 0);
    EXPECT_EQ(result.leftover, kStratumLine);
}

TEST_F(ProxyHandshakeTest, UnknownKeepsThePeerAddress) {
    start(kNeverReached);
    send("PROXY UNKNOWN\r\n");
    const ProxyHandshakeResult& result = finish();
    ASSERT_TRUE(result.ok) << result.why;
    EXPECT_FALSE(result.source.has_value());
}

TEST_F(ProxyHandshakeTest, StratumWithoutHeaderIsMalformedAtOnce) {
    // The deadline is far away: the refusal comes from the first bytes, not from waiting.
    start(kNeverReached);
    send(kStratumLine);
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "malformed PROXY header: not a PROXY header");
    EXPECT_FALSE(result.source.has_value());
}

TEST_F(ProxyHandshakeTest, MalformedAfterAPartialHeader) {
    start(kNeverReached);
    send("PROXY TCP4 192.168.0.1 ");
    run_until_consumed();
    send("10.0.0.2 056324 9192\r\n");
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "malformed PROXY header: bad source port");
}

TEST_F(ProxyHandshakeTest, DeadlineWithNothingSent) {
    start(30ms);
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "no PROXY header within 30 ms");
}

TEST_F(ProxyHandshakeTest, DeadlineWithAPartialHeader) {
    start(1s);
    send("PROXY TCP4 192.168.0.1 10.0.0.2 56324 9192\r");
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "no PROXY header within 1 s");
}

TEST_F(ProxyHandshakeTest, PeerClosesMidHeader) {
    start(kNeverReached);
    send("PROXY TCP4 192.168.0.1");
    run_until_consumed();
    client_.shutdown(tcp::socket::shutdown_send);
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "closed before a PROXY header");
}

TEST_F(ProxyHandshakeTest, PeerClosesWithoutAByte) {
    start(kNeverReached);
    client_.close();
    const ProxyHandshakeResult& result = finish();
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.why, "closed before a PROXY header");
}

TEST(ProxyHandshake, ASocketThatIsNotOpenReportsItsError) {
    asio::io_context io;
    int calls = 0;
    ProxyHandshakeResult got;
    read_proxy_header(tcp::socket(io), kNeverReached, [&](tcp::socket, ProxyHandshakeResult result) {
        ++calls;
        got = std::move(result);
    });
    EXPECT_EQ(calls, 0);
    io.run();
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(got.ok);
    EXPECT_FALSE(got.why.empty());
}

// Many handshakes at once on two threads (ThreadSanitizer runs this): each outcome is
// decided by what its client sent, whatever the interleaving, and each is reported once.
TEST(ProxyHandshake, ManyAtOnceOnTwoThreads) {
    constexpr int kConnections = 60;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<std::unique_ptr<tcp::socket>> clients;
    std::vector<std::atomic<int>> calls(kConnections);
    std::vector<ProxyHandshakeResult> results(kConnections);
    std::atomic<int> finished{0};
    for (int i = 0; i < kConnections; ++i) {
        auto client = std::make_unique<tcp::socket>(io);
        client->connect(acceptor.local_endpoint());
        auto strand = asio::make_strand(io);
        tcp::socket server(strand);
        acceptor.accept(server);
        // Three kinds, by i % 3: a valid header with the port i, stratum straight away,
        // silence until a short deadline.
        const auto deadline = i % 3 == 2 ? std::chrono::milliseconds(20) : kNeverReached;
        if (i % 3 == 0)
            asio::write(*client,
                        asio::buffer("PROXY TCP4 10.1.2.3 10.0.0.2 " + std::to_string(i) + " 9192\r\n" + kStratumLine));
        if (i % 3 == 1) asio::write(*client, asio::buffer(kStratumLine));
        read_proxy_header(std::move(server), deadline, [&, i, strand](tcp::socket socket, ProxyHandshakeResult result) {
            EXPECT_TRUE(strand.running_in_this_thread());
            EXPECT_TRUE(socket.is_open());
            calls[i].fetch_add(1);
            results[i] = std::move(result);
            finished.fetch_add(1);
        });
        clients.push_back(std::move(client));
    }
    std::thread other([&io] { io.run(); });
    io.run();
    other.join();
    EXPECT_EQ(finished.load(), kConnections);
    for (int i = 0; i < kConnections; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(calls[i].load(), 1);
        const ProxyHandshakeResult& result = results[i];
        switch (i % 3) {
            case 0:
                EXPECT_TRUE(result.ok) << result.why;
                EXPECT_EQ(result.source_port, i);
                EXPECT_EQ(result.leftover, kStratumLine);
                break;
            case 1: EXPECT_EQ(result.why, "malformed PROXY header: not a PROXY header"); break;
            case 2: EXPECT_EQ(result.why, "no PROXY header within 20 ms"); break;
        }
    }
}

}  // namespace
}  // namespace sharegate_test
