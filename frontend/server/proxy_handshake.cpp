#include "server/proxy_handshake.hpp"

#include <memory>
#include <string_view>
#include <utility>

#include "protocol/proxy_header.hpp"

namespace sharegate::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// As Session reads: one read is at most this much, so at most this much past the header
// comes back as leftover.
constexpr std::size_t kReadBytes = 4096;

std::string describe(std::chrono::milliseconds deadline) {
    if (deadline.count() % 1000 == 0) return std::to_string(deadline.count() / 1000) + " s";
    return std::to_string(deadline.count()) + " ms";
}

// One pending handshake. Every handler runs on the socket's executor (in the server, the
// connection's one I/O thread), so the deadline and the reads never run at once; finished_
// makes the first outcome the only one reported.
class Handshake : public std::enable_shared_from_this<Handshake> {
public:
    Handshake(tcp::socket socket, std::chrono::milliseconds deadline, ProxyHandshakeDone done)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), deadline_(deadline), done_(std::move(done)) {}

    void start() {
        asio::post(socket_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code error;
            // Reads happen only after a readiness wait; this makes a spurious wake-up harmless.
            self->socket_.non_blocking(true, error);
            if (error) return self->fail(error.message());
            self->timer_.expires_after(self->deadline_);
            self->timer_.async_wait([self](const boost::system::error_code& timer_error) {
                if (timer_error || self->finished_) return;
                // The pending readiness wait completes as cancelled and reports the timeout.
                self->expired_ = true;
                boost::system::error_code ignored;
                self->socket_.cancel(ignored);
            });
            self->wait_readable();
        });
    }

private:
    void wait_readable() {
        // No buffer is held while waiting: a thousand silent connections cost their
        // sockets only.
        socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& error) {
            self->on_readable(error);
        });
    }

    void on_readable(const boost::system::error_code& error) {
        if (finished_) return;
        if (expired_) return fail("no PROXY header within " + describe(deadline_));
        if (error) return fail(error.message());
        thread_local std::array<char, kReadBytes> buffer;
        boost::system::error_code read_error;
        const std::size_t bytes = socket_.read_some(asio::buffer(buffer), read_error);
        if (read_error == asio::error::would_block || read_error == asio::error::try_again) return wait_readable();
        if (read_error == asio::error::eof) return fail("closed before a PROXY header");
        if (read_error) return fail(read_error.message());
        received_.append(buffer.data(), bytes);

        const protocol::ProxyHeader header = protocol::parse_proxy_header(received_);
        switch (header.status) {
            case protocol::ProxyHeader::Status::need_more: return wait_readable();
            case protocol::ProxyHeader::Status::malformed: return fail("malformed PROXY header: " + header.why);
            case protocol::ProxyHeader::Status::complete: break;
        }
        ProxyHandshakeResult result;
        result.ok = true;
        if (header.has_source) result.source = header.source;
        result.source_port = header.has_source ? header.source_port : 0;
        result.leftover = received_.substr(header.length);
        finish(std::move(result));
    }

    void fail(std::string why) {
        ProxyHandshakeResult result;
        result.why = std::move(why);
        finish(std::move(result));
    }

    void finish(ProxyHandshakeResult result) {
        finished_ = true;
        timer_.cancel();
        received_.clear();
        received_.shrink_to_fit();
        ProxyHandshakeDone done = std::move(done_);
        done(std::move(socket_), std::move(result));
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    std::chrono::milliseconds deadline_;
    ProxyHandshakeDone done_;
    std::string received_;  // under kMaxProxyHeaderBytes until the header is complete
    bool expired_ = false;
    bool finished_ = false;
};

}  // namespace

void read_proxy_header(tcp::socket socket, std::chrono::milliseconds deadline, ProxyHandshakeDone done) {
    std::make_shared<Handshake>(std::move(socket), deadline, std::move(done))->start();
}

}  // namespace sharegate::server
