// One connection of the getwork door: the HTTP/1.1 transport only. Bytes become POST
// bodies handed to the owner (which speaks JSON-RPC), and the owner's answers become
// responses, written in request order although they may be answered out of order. It
// never parses JSON and knows nothing of pools; what it owns are the defenses a public
// port needs: size limits read from the Beast parser before the bytes arrive, a deadline
// for a whole request (slowloris), an idle limit for keep-alive, and a cap on pipelined
// requests so that a client that never reads its answers cannot make the server buffer
// without bound. Modelled on the session of Boost.Beast's advanced server; the in-order
// answers are the stratum session's ReplyQueue.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/asio.hpp"
#include "server/reply_queue.hpp"
// Beast after server/asio.hpp, which must come before any Boost.Asio header.
// GCC 12 at -O2 reports a boost::optional in Beast's parser as maybe used uninitialized
// (a known false positive of its middle end); the warning is silenced for Beast's own
// lines only, so that -Werror still holds for ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#pragma GCC diagnostic pop

namespace sharegate::server {

struct HttpLimits {
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_header_bytes = 8 * 1024;
    // From a request's first byte until it is whole: a slow sender (slowloris) is cut.
    // (With Expect: 100-continue, the wait for the 100 Continue counts too.)
    std::chrono::milliseconds request_timeout{10000};
    // Keep-alive: how long an open connection may sit between requests. Also how long one
    // write of answers may take before the client is taken for one that never reads.
    std::chrono::milliseconds idle_timeout{60000};
    // Requests read ahead while earlier ones still wait for their answers (at least 1).
    std::size_t max_pipelined = 8;
};

// Why a request was refused; each is answered with its status and counted by the owner.
enum class HttpRefusal {
    malformed,           // 400, then close: the parser gave up, the stream can not be resynchronised
    method_not_allowed,  // 405 with Allow: POST; the connection stays open
    body_too_large,      // 413, then close
    header_too_large,    // 431, then close
    request_timeout,     // 408, then close
};
std::string_view name(HttpRefusal refusal);  // "malformed", "method_not_allowed", ... for logs and counters

struct HttpHandlers {
    // One POST request's body (any path, any Content-Type). `respond` must be called
    // exactly once, from any thread, with the response body: non-empty -> 200
    // application/json; empty -> 204 No Content (JSON-RPC notifications). A second call
    // is ignored (and logged); a `respond` destroyed uncalled answers 500, so that a lost
    // callback costs one error, not a connection stuck forever. `respond` holds the
    // connection (and so its socket): like the connection, it must not outlive the
    // io_context.
    std::function<void(std::string body, std::function<void(std::string)> respond)> on_request;
    // Every refused request, once (the owner counts it by reason, logs, and may report
    // the address's conduct to its ban book).
    std::function<void(HttpRefusal)> on_refusal;
    // Called once when the connection has closed (the owner frees its admission slot); at
    // the latest when the connection is destroyed.
    std::function<void()> on_closed;
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    // `remote` is address:port, for logs. Every handler runs on a strand of the socket's
    // executor, so any executor will do; the handlers above are called on it too.
    HttpConnection(boost::asio::ip::tcp::socket socket, HttpLimits limits, HttpHandlers handlers, std::string remote);
    ~HttpConnection();

    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // `already_read`: bytes read from the socket before (e.g. past a PROXY header), the
    // start of the first request.
    void start(std::string already_read = {});

    // Thread-safe. Reads nothing more (a request still arriving is dropped unanswered),
    // writes the answers of the requests already read as they come, then closes.
    void post_close();

private:
    // Where the connection is in its life; it only ever moves down this list.
    enum class Phase {
        reading,    // reads requests while the pipeline has room
        finishing,  // reads nothing more; closes once every request read is answered and written
        lingering,  // all written, our side shut: discards what the client still sends, briefly
        closed,
    };

    struct PendingAnswer;  // what `respond` holds: a request's place in the answer queue
    using Clock = std::chrono::steady_clock;

    void read_next();
    void on_readable(const boost::system::error_code& error);
    void read_header();
    void on_header(const boost::system::error_code& error);
    void on_body(const boost::system::error_code& error);
    void on_read_error(const boost::system::error_code& error);
    void on_abandoned_read(const boost::system::error_code& error);
    void on_request_read();

    void answer(ReplyQueue::Ticket ticket, std::optional<std::string> body, unsigned version, bool keep_alive);
    void refuse(HttpRefusal refusal, unsigned version, bool keep_alive);
    void flush();
    void on_written(const boost::system::error_code& error);

    void finish();
    void close_gracefully();
    void linger();
    void close(std::string_view why);

    // The one timer: waits for the earliest of the deadlines below that is set.
    void refresh_deadlines();
    void arm_timer();
    void on_timer();

    boost::asio::ip::tcp::socket socket_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer timer_;
    const HttpLimits limits_;
    HttpHandlers handlers_;
    const std::string remote_;

    boost::beast::flat_buffer buffer_;  // bytes read but not yet parsed (pipelined requests)
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    ReplyQueue replies_;

    Phase phase_ = Phase::reading;
    bool read_in_flight_ = false;
    bool awaiting_first_byte_ = false;  // a readiness wait for the next request is out
    bool client_done_ = false;          // a read ended in an error: the client sends nothing more
    std::size_t lingered_bytes_ = 0;

    // Set while they apply; the timer waits for the earliest.
    std::optional<Clock::time_point> idle_deadline_;     // nothing asked, nothing owed: closes silently
    std::optional<Clock::time_point> request_deadline_;  // a request begun, not whole: 408
    std::optional<Clock::time_point> write_deadline_;    // a write out: the client is not reading
    std::optional<Clock::time_point> linger_deadline_;   // lingering: closes
    std::optional<Clock::time_point> timer_armed_for_;   // the deadline the pending wait is for
    std::uint64_t timer_generation_ = 0;                 // tells the pending wait from cancelled ones
};

}  // namespace sharegate::server
