#include "server/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 -O2 in Beast (http_connection.hpp)
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#pragma GCC diagnostic pop
#include <initializer_list>
#include <limits>
#include <utility>

namespace sharegate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Once everything is answered the connection shuts its sending side, then reads and drops
// what the client still sends, for at most this long and this much, before it closes.
// Closing with unread bytes would make the kernel send a reset, which can destroy the
// last answer (a 413 sent before the body was read) before the client has read it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr std::size_t kLingerReadBytes = 4096;
// Answers written to a client that does not read them: past this many bytes not yet
// accepted by its socket, no more requests are read (besides the pipeline cap).
constexpr std::size_t kSoftOutputCap = 1 << 20;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kText = "text/plain";

// One response, headers and body in one string: it goes out in one write, so that the
// client never waits on a delayed ACK between a header segment and a body segment.
// Always HTTP/1.1, also to an HTTP/1.0 client (RFC 9110 section 6.2: the highest version
// the server conforms to).
std::string response(http::status status, std::string_view content_type, std::string_view body, unsigned version,
                     bool keep_alive, bool allow_post = false) {
    const auto reason = http::obsolete_reason(status);
    std::string out;
    out.reserve(160 + body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(static_cast<unsigned>(status));
    out += ' ';
    out.append(reason.data(), reason.size());
    out += "\r\nServer: sharegate\r\n";
    if (allow_post) out += "Allow: POST\r\n";
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
    // A 204 has no body, and RFC 9110 section 8.6 forbids it a Content-Length.
    if (status != http::status::no_content) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!keep_alive) {
        out += "Connection: close\r\n";
    } else if (version < 11) {
        out += "Connection: keep-alive\r\n";  // HTTP/1.0 closes unless told otherwise
    }
    out += "\r\n";
    out += body;
    return out;
}

bool is_http_error(const error_code& error) {
    return error.category() == http::make_error_code(http::error::end_of_stream).category();
}

}  // namespace

std::string_view name(HttpRefusal refusal) {
    switch (refusal) {
        case HttpRefusal::malformed: return "malformed";
        case HttpRefusal::method_not_allowed: return "method_not_allowed";
        case HttpRefusal::body_too_large: return "body_too_large";
        case HttpRefusal::header_too_large: return "header_too_large";
        case HttpRefusal::request_timeout: return "request_timeout";
    }
    return "?";
}

// Held by the `respond` callback given with a request: posts its answer to the
// connection's strand, once; destroyed uncalled, it answers 500.
struct HttpConnection::PendingAnswer {
    PendingAnswer(std::shared_ptr<HttpConnection> connection, ReplyQueue::Ticket ticket, unsigned version,
                  bool keep_alive)
        : connection(std::move(connection)), ticket(ticket), version(version), keep_alive(keep_alive) {}
    PendingAnswer(const PendingAnswer&) = delete;
    PendingAnswer& operator=(const PendingAnswer&) = delete;
    ~PendingAnswer() {
        if (answered.exchange(true)) return;
        spdlog::warn("{}: a request's respond callback was dropped uncalled; answering 500", connection->remote_);
        deliver(std::nullopt);
    }

    void respond(std::string body) {
        if (answered.exchange(true)) {
            spdlog::error("{}: a request answered twice; the second answer is dropped", connection->remote_);
            return;
        }
        deliver(std::move(body));
    }

    void deliver(std::optional<std::string> body) {
        asio::post(connection->strand_, [connection = connection, ticket = ticket, version = version,
                                         keep_alive = keep_alive, body = std::move(body)]() mutable {
            connection->answer(ticket, std::move(body), version, keep_alive);
        });
    }

    const std::shared_ptr<HttpConnection> connection;
    const ReplyQueue::Ticket ticket;
    const unsigned version;
    const bool keep_alive;
    std::atomic<bool> answered{false};
};

HttpConnection::HttpConnection(tcp::socket socket, HttpLimits limits, HttpHandlers handlers, std::string remote)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      timer_(strand_),
      limits_(limits),
      handlers_(std::move(handlers)),
      remote_(std::move(remote)),
      // Full once max_pipelined requests wait for an answer or for their turn to be written.
      replies_(ReplyQueue::Limits{kSoftOutputCap, std::numeric_limits<std::size_t>::max(),
                                  std::max<std::size_t>(limits.max_pipelined, 1) - 1,
                                  std::max<std::size_t>(limits.max_pipelined, 1) - 1}) {}

HttpConnection::~HttpConnection() {
    // Destroyed without closing (its io_context went away with work pending): the owner
    // still hears of it once.
    if (phase_ != Phase::closed && handlers_.on_closed) handlers_.on_closed();
}

void HttpConnection::start(std::string already_read) {
    asio::post(strand_, [self = shared_from_this(), already_read = std::move(already_read)] {
        error_code ignored;
        // Each answer goes out at once rather than wait for the client's next packet.
        self->socket_.set_option(tcp::no_delay(true), ignored);
        if (!already_read.empty()) {
            auto space = self->buffer_.prepare(already_read.size());
            self->buffer_.commit(asio::buffer_copy(space, asio::buffer(already_read)));
        }
        spdlog::debug("{}: http connected", self->remote_);
        self->read_next();
    });
}

void HttpConnection::post_close() {
    asio::post(strand_, [self = shared_from_this()] { self->finish(); });
}

// ---- reading ----

void HttpConnection::read_next() {
    if (phase_ != Phase::reading || read_in_flight_ || replies_.is_full()) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
    read_in_flight_ = true;
    if (buffer_.size() > 0) return read_header();  // the next request came with an earlier one
    // Between requests a keep-alive connection holds no read buffer, only its socket.
    buffer_.shrink_to_fit();
    awaiting_first_byte_ = true;
    refresh_deadlines();
    socket_.async_wait(tcp::socket::wait_read,
                       asio::bind_executor(strand_, [self = shared_from_this()](const error_code& error) {
                           self->on_readable(error);
                       }));
}

void HttpConnection::on_readable(const error_code& error) {
    read_in_flight_ = false;
    awaiting_first_byte_ = false;
    if (phase_ != Phase::reading) return on_abandoned_read(error);
    if (error) return close(error.message());
    read_in_flight_ = true;
    read_header();
}

void HttpConnection::read_header() {
    // The request has begun (its first bytes are here or on their way): it has
    // request_timeout to arrive whole, counted from now for one that waited in the buffer
    // behind earlier ones.
    request_deadline_ = Clock::now() + limits_.request_timeout;
    refresh_deadlines();
    http::async_read_header(
        socket_, buffer_, *parser_,
        asio::bind_executor(
            strand_, [self = shared_from_this()](const error_code& error, std::size_t) { self->on_header(error); }));
}

void HttpConnection::on_header(const error_code& error) {
    read_in_flight_ = false;
    if (phase_ != Phase::reading) return on_abandoned_read(error);
    if (error) return on_read_error(error);

    const auto& request = parser_->get();
    const bool has_body_to_come = !parser_->is_done();
    const bool expects_continue = beast::iequals(request[http::field::expect], "100-continue");
    if (request.method() != http::verb::post && expects_continue && has_body_to_come) {
        // Refused without a 100 Continue, the client may send its body or not; the stream
        // can not be followed without knowing which, so the 405 ends the connection.
        request_deadline_.reset();
        return refuse(HttpRefusal::method_not_allowed, request.version(), false);
    }
    // libcurl sends this for larger bodies and waits a second for the go-ahead. It takes
    // a place in the answer queue, so that it follows the answers to earlier requests.
    // (HTTP/1.0 clients must not be sent a 1xx.)
    if (request.method() == http::verb::post && expects_continue && has_body_to_come && request.version() >= 11) {
        replies_.add(std::string(kContinue));
        flush();
    }
    if (!has_body_to_come) return on_request_read();
    read_in_flight_ = true;
    http::async_read(
        socket_, buffer_, *parser_,
        asio::bind_executor(strand_, [self = shared_from_this()](const error_code& body_error, std::size_t) {
            self->on_body(body_error);
        }));
}

void HttpConnection::on_body(const error_code& error) {
    read_in_flight_ = false;
    if (phase_ != Phase::reading) return on_abandoned_read(error);
    if (error) return on_read_error(error);
    on_request_read();
}

// A read that completes after the connection stopped reading requests: what it read is
// dropped.
void HttpConnection::on_abandoned_read(const error_code& error) {
    if (error) client_done_ = true;  // normally its end of stream
    if (phase_ != Phase::lingering) return;
    if (client_done_) return close("finished");
    linger();
}

void HttpConnection::on_read_error(const error_code& error) {
    request_deadline_.reset();
    // The client finished sending, between requests or within one: what it asked before
    // is answered, then the connection closes.
    if (error == http::error::end_of_stream || error == http::error::partial_message || error == asio::error::eof) {
        client_done_ = true;
        return finish();
    }
    // The parser stops at its limits before the rest arrives: a Content-Length over the
    // limit is refused before any of its body, a chunked body at the chunk that passes it.
    if (error == http::error::header_limit) return refuse(HttpRefusal::header_too_large, 11, false);
    if (error == http::error::body_limit) return refuse(HttpRefusal::body_too_large, 11, false);
    // Whatever else the parser rejects leaves no way to find where the next request starts.
    if (is_http_error(error)) return refuse(HttpRefusal::malformed, 11, false);
    close(error.message());
}

void HttpConnection::on_request_read() {
    request_deadline_.reset();
    http::request<http::string_body> request = parser_->release();
    parser_.reset();
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();  // Connection: close, or HTTP/1.0 without keep-alive
    if (request.method() != http::verb::post) {
        refuse(HttpRefusal::method_not_allowed, version, keep_alive);
    } else {
        auto pending = std::make_shared<PendingAnswer>(shared_from_this(), replies_.reserve(), version, keep_alive);
        // (Without a handler `pending` is dropped uncalled: a 500.)
        if (handlers_.on_request) {
            handlers_.on_request(std::move(request.body()), [pending = std::move(pending)](std::string body) {
                pending->respond(std::move(body));
            });
        }
    }
    if (!keep_alive) return finish();
    read_next();
    refresh_deadlines();
}

// ---- answers ----

void HttpConnection::answer(ReplyQueue::Ticket ticket, std::optional<std::string> body, unsigned version,
                            bool keep_alive) {
    if (phase_ == Phase::closed || phase_ == Phase::lingering) return;
    std::string text;
    if (!body) {
        text = response(http::status::internal_server_error, kText, "no answer\n", version, keep_alive);
    } else if (body->empty()) {
        text = response(http::status::no_content, kJson, "", version, keep_alive);
    } else {
        text = response(http::status::ok, kJson, *body, version, keep_alive);
    }
    replies_.fill(ticket, std::move(text), !keep_alive);
    flush();
    read_next();  // a place in the pipeline may have opened
    refresh_deadlines();
}

void HttpConnection::refuse(HttpRefusal refusal, unsigned version, bool keep_alive) {
    spdlog::debug("{}: http request refused: {}", remote_, name(refusal));
    if (handlers_.on_refusal) handlers_.on_refusal(refusal);
    std::string text;
    switch (refusal) {
        case HttpRefusal::malformed:
            text = response(http::status::bad_request, kText, "malformed HTTP request\n", version, keep_alive);
            break;
        case HttpRefusal::method_not_allowed:
            text = response(http::status::method_not_allowed, kText, "only POST is served here\n", version, keep_alive,
                            true);
            break;
        case HttpRefusal::body_too_large:
            text = response(http::status::payload_too_large, kText,
                            "body over " + std::to_string(limits_.max_body_bytes) + " bytes\n", version, keep_alive);
            break;
        case HttpRefusal::header_too_large:
            text =
                response(http::status::request_header_fields_too_large, kText,
                         "header over " + std::to_string(limits_.max_header_bytes) + " bytes\n", version, keep_alive);
            break;
        case HttpRefusal::request_timeout:
            text = response(http::status::request_timeout, kText,
                            "request not whole within " + std::to_string(limits_.request_timeout.count()) + " ms\n",
                            version, keep_alive);
            break;
    }
    replies_.add(std::move(text), !keep_alive);
    if (!keep_alive) finish();
    flush();
}

void HttpConnection::flush() {
    if (phase_ == Phase::closed || phase_ == Phase::lingering) return;
    const std::string_view ready = replies_.take_ready();
    if (ready.empty()) {
        if (phase_ == Phase::finishing && replies_.finished()) close_gracefully();
        return;
    }
    write_deadline_ = Clock::now() + limits_.idle_timeout;
    refresh_deadlines();
    asio::async_write(socket_, asio::buffer(ready.data(), ready.size()),
                      asio::bind_executor(strand_, [self = shared_from_this()](const error_code& error, std::size_t) {
                          self->on_written(error);
                      }));
}

void HttpConnection::on_written(const error_code& error) {
    const bool answered_last = replies_.written();
    write_deadline_.reset();
    if (phase_ == Phase::closed) return;
    if (error) return close(error.message());
    if (answered_last) return close_gracefully();  // a Connection: close, or a refusal that ends it
    flush();
    read_next();
    refresh_deadlines();
}

// ---- closing ----

// Reads no more requests (a read out is dropped when it completes); closes once every
// request read is answered and written.
void HttpConnection::finish() {
    if (phase_ != Phase::reading) return;
    phase_ = Phase::finishing;
    request_deadline_.reset();
    if (replies_.finished()) return close_gracefully();
    refresh_deadlines();
}

void HttpConnection::close_gracefully() {
    if (phase_ == Phase::closed || phase_ == Phase::lingering) return;
    // Nothing more to come from the client: no reset to fear. (Nor could a read tell:
    // Boost.Asio 1.74 does not retry a read on a socket whose end of stream an earlier
    // read consumed, and waits for a readiness event that never comes.)
    if (client_done_) return close("finished");
    phase_ = Phase::lingering;
    error_code error;
    socket_.shutdown(tcp::socket::shutdown_send, error);
    if (error) return close(error.message());
    request_deadline_.reset();
    write_deadline_.reset();
    linger_deadline_ = Clock::now() + kLingerTime;
    refresh_deadlines();
    // A read still out (the next request's) completes into linger().
    if (!read_in_flight_) linger();
}

void HttpConnection::linger() {
    if (phase_ != Phase::lingering) return;
    read_in_flight_ = true;
    buffer_.consume(buffer_.size());
    socket_.async_read_some(
        buffer_.prepare(kLingerReadBytes),
        asio::bind_executor(strand_, [self = shared_from_this()](const error_code& error, std::size_t bytes) {
            self->read_in_flight_ = false;
            if (self->phase_ != Phase::lingering) return;
            if (error) return self->close("finished");  // the client's end of stream, normally
            self->lingered_bytes_ += bytes;
            if (self->lingered_bytes_ > kLingerBytes) return self->close("the client sends on after the end");
            self->linger();
        }));
}

void HttpConnection::close(std::string_view why) {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    spdlog::debug("{}: http disconnected ({})", remote_, why);
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    idle_deadline_.reset();
    request_deadline_.reset();
    write_deadline_.reset();
    linger_deadline_.reset();
    ++timer_generation_;
    timer_armed_for_.reset();
    timer_.cancel();
    // The parser and the read buffer stay: a read completing as cancelled may still touch them.
    replies_.clear();
    // The owner's callbacks may hold what holds this connection: let go of them.
    HttpHandlers handlers = std::move(handlers_);
    handlers_ = {};
    if (handlers.on_closed) handlers.on_closed();
}

// ---- the timer ----

void HttpConnection::refresh_deadlines() {
    // Idle: waiting for a request with nothing asked before still owed.
    const bool idle = phase_ == Phase::reading && awaiting_first_byte_ && replies_.finished();
    if (!idle) {
        idle_deadline_.reset();
    } else if (!idle_deadline_) {
        idle_deadline_ = Clock::now() + limits_.idle_timeout;
    }
    arm_timer();
}

void HttpConnection::arm_timer() {
    if (phase_ == Phase::closed) return;
    std::optional<Clock::time_point> earliest;
    for (const auto& deadline : {idle_deadline_, request_deadline_, write_deadline_, linger_deadline_}) {
        if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
    }
    if (earliest == timer_armed_for_) return;
    timer_armed_for_ = earliest;
    // A wait already fired and queued when it is replaced sees a newer generation and does nothing.
    const std::uint64_t generation = ++timer_generation_;
    if (!earliest) {
        timer_.cancel();
        return;
    }
    timer_.expires_at(*earliest);  // cancels the wait before
    timer_.async_wait([self = shared_from_this(), generation](const error_code& error) {
        if (generation != self->timer_generation_) return;
        self->timer_armed_for_.reset();
        if (error) return;
        self->on_timer();
    });
}

void HttpConnection::on_timer() {
    if (phase_ == Phase::closed) return;
    const auto now = Clock::now();
    if (linger_deadline_ && now >= *linger_deadline_) return close("finished (the client did not close)");
    if (write_deadline_ && now >= *write_deadline_) {
        return close("answers unread for " + std::to_string(limits_.idle_timeout.count()) + " ms");
    }
    if (idle_deadline_ && now >= *idle_deadline_) return close("idle");
    if (request_deadline_ && now >= *request_deadline_) {
        // The read still out is dropped when it completes, or when the connection closes.
        request_deadline_.reset();
        refuse(HttpRefusal::request_timeout, 11, false);
    }
    refresh_deadlines();
}

}  // namespace sharegate::server
