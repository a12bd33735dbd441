// A blocking stratum client for the end-to-end tests: whole lines in, whole lines out,
// with a read timeout, over a real loopback socket. What the server sends is read by the
// stratum client of protocol/stratum_client.hpp into a ServerLine, a value a test
// compares with what it expects (accepted(4), refused(4, 23, "Low difficulty share")),
// so no test matches replies by substring.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "protocol/stratum_client.hpp"
#include "support/loopback_socket.hpp"

namespace sharegate_test {

using namespace std::chrono_literals;
using sharegate::protocol::ReplyResult;
using sharegate::protocol::ReplyShape;

// One line from the server, as the stratum client read it, in values a test owns.
struct ServerLine {
    enum class Kind { none, reply, notify, unparseable };  // none: nothing came (timeout or end of stream)
    Kind kind = Kind::none;

    // kind == reply
    std::string id;  // JSON text: 4, "abc", null
    ReplyShape shape = ReplyShape::legacy;
    ReplyResult result = ReplyResult::absent;
    bool has_error = false;
    int error_code = 0;
    std::string error_message;

    // kind == notify
    std::string challenge;  // as sent
    std::string target;     // decimal
    std::uint64_t difficulty = 0;
    std::string pool;  // EIP-55

    std::string text;  // the line itself, for failure messages; not compared

    bool is_notify() const { return kind == Kind::notify; }

    friend bool operator==(const ServerLine& a, const ServerLine& b) {
        return a.kind == b.kind && a.id == b.id && a.shape == b.shape && a.result == b.result &&
               a.has_error == b.has_error && a.error_code == b.error_code && a.error_message == b.error_message &&
               a.challenge == b.challenge && a.target == b.target && a.difficulty == b.difficulty && a.pool == b.pool;
    }

    // How GoogleTest prints one in a failed expectation.
    friend void PrintTo(const ServerLine& line, std::ostream* out) {
        static constexpr const char* kResults[] = {"absent", "true", "false", "null"};
        switch (line.kind) {
            case Kind::none: *out << "no line"; return;
            case Kind::unparseable: *out << "unparseable"; break;
            case Kind::reply:
                *out << "reply id " << line.id << (line.shape == ReplyShape::legacy ? " legacy" : " jsonrpc2")
                     << " result " << kResults[static_cast<int>(line.result)];
                if (line.has_error) *out << " error [" << line.error_code << ",\"" << line.error_message << "\"]";
                break;
            case Kind::notify:
                *out << "notify " << line.challenge << " target " << line.target << " difficulty " << line.difficulty
                     << " pool " << line.pool;
                break;
        }
        if (!line.text.empty()) *out << " (" << line.text << ")";
    }
};

// A reply's id as a test names it: a number, or JSON text ("null", "\"abc\"").
struct ReplyId {
    // A template, so that a literal 0 is a number rather than a null pointer.
    template <std::integral Number>
    ReplyId(Number number) : text(std::to_string(number)) {}  // NOLINT(google-explicit-constructor)
    ReplyId(const char* json) : text(json) {}                 // NOLINT(google-explicit-constructor)
    std::string text;
};

// What the tests expect. Legacy: {"id":4,"result":true,"error":null}; JSON-RPC 2.0: {"id":4,"result":true}.
inline ServerLine accepted(const ReplyId& id, ReplyShape shape = ReplyShape::legacy) {
    ServerLine line;
    line.kind = ServerLine::Kind::reply;
    line.id = id.text;
    line.shape = shape;
    line.result = ReplyResult::is_true;
    return line;
}

// Legacy: {"id":4,"result":false,"error":[code,"message"]}; JSON-RPC 2.0: {"id":4,"error":[…]}.
inline ServerLine refused(const ReplyId& id, int code, std::string message, ReplyShape shape = ReplyShape::legacy) {
    ServerLine line;
    line.kind = ServerLine::Kind::reply;
    line.id = id.text;
    line.shape = shape;
    line.result = shape == ReplyShape::legacy ? ReplyResult::is_false : ReplyResult::absent;
    line.has_error = true;
    line.error_code = code;
    line.error_message = std::move(message);
    return line;
}

// {"id":4,"result":null,"error":[code,"message"]}: no verdict on a share (not subscribed, unknown method).
inline ServerLine refused_result_null(const ReplyId& id, int code, std::string message) {
    ServerLine line = refused(id, code, std::move(message));
    line.result = ReplyResult::is_null;
    return line;
}

// {"method":"mining.notify","params":[challenge, target, difficulty, pool]}
inline ServerLine work(std::string challenge, std::string target, std::uint64_t difficulty, std::string pool) {
    ServerLine line;
    line.kind = ServerLine::Kind::notify;
    line.challenge = std::move(challenge);
    line.target = std::move(target);
    line.difficulty = difficulty;
    line.pool = std::move(pool);
    return line;
}

// A blocking client: whole lines in, whole lines out, with a read timeout.
class LineClient {
public:
    explicit LineClient(std::uint16_t port) : LineClient(port, std::string()) {}
    // From `source_address` (an IPv4 address such as 127.0.0.2; empty: the kernel's
    // choice), so that one test can be many peers: the whole of 127.0.0.0/8 is loopback.
    LineClient(std::uint16_t port, const std::string& source_address) : fd_(connect_loopback(port, source_address)) {}
    ~LineClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    LineClient(const LineClient&) = delete;
    LineClient& operator=(const LineClient&) = delete;

    bool connected() const { return fd_ >= 0; }

    void send(const std::string& bytes) { send_all(bytes); }

    // False once the server has closed or reset the connection.
    bool send_all(const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    void shutdown_socket() { ::shutdown(fd_, SHUT_RDWR); }
    // Sends EOF (the miner is done sending) and keeps reading.
    void finish_sending() { ::shutdown(fd_, SHUT_WR); }

    // The next line (without '\n'), or nullopt on timeout or end of stream.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            if (eof_) return std::nullopt;
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char chunk[65536];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                eof_ = true;
                continue;
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // The next line as the stratum client reads it; Kind::none on timeout or end of stream.
    ServerLine read_message(std::chrono::milliseconds timeout = 5000ms) {
        ServerLine out;
        auto line = read_line(timeout);
        if (!line) return out;
        const sharegate::protocol::ServerMessage message = parser_.parse(*line);
        out.text = std::move(*line);
        switch (message.kind) {
            case sharegate::protocol::ServerMessage::Kind::unparseable: out.kind = ServerLine::Kind::unparseable; break;
            case sharegate::protocol::ServerMessage::Kind::reply:
                out.kind = ServerLine::Kind::reply;
                out.id = message.reply.id;
                out.shape = message.reply.shape;
                out.result = message.reply.result;
                out.has_error = message.reply.has_error;
                out.error_code = message.reply.error_code;
                out.error_message = message.reply.error_message;
                break;
            case sharegate::protocol::ServerMessage::Kind::notify:
                out.kind = ServerLine::Kind::notify;
                out.challenge = message.notify.challenge_text;
                out.target = message.notify.target.to_decimal();
                out.difficulty = message.notify.difficulty;
                out.pool = message.notify.pool.checksummed();
                break;
        }
        return out;
    }

    // True when the server closed the connection (after any lines still buffered).
    bool closed_by_server(std::chrono::milliseconds timeout = 5000ms) {
        while (read_line(timeout)) {
        }
        return eof_;
    }

private:
    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
    sharegate::protocol::StratumClientParser parser_;
};

}  // namespace sharegate_test
