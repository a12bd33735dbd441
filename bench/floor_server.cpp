// sharegate-floor: the kernel floor for bench/run-cpu.sh (issue 18): a stratum responder
// that does nothing but move bytes, so that sharegate's server CPU per answered submit can
// be quoted as a multiple of what the same traffic costs when nothing is parsed, verified
// or stored. sharegate-loadgen drives it unchanged with --workload invalid-digest: it
// answers a subscribe with the reply and the work sharegate sends (bench/run-cpu.sh's
// setting: --max-target-bits 250, varDiff 1), every submit with [20,"Invalid digest"] and
// anything else with [20,"Unknown stratum method"], byte for byte as sharegate writes them
// to a miner that subscribes with a client id (JSON-RPC 2.0 replies, docs/protocol.md
// section 2). It answers a valid share "Invalid digest" too: only that workload makes sense.
//
//   sharegate-floor --port N [--bind ADDR] [--threads N] [--read-bytes N]
//
// Built the way sharegate's I/O side is (frontend/server/server.cpp, session.cpp), so that
// the difference is the work, not the plumbing: --threads I/O threads (default one per
// hardware thread, sharegate's default), each running an io_context of its own
// (server::IoThreads, sharegate's own), connections dealt to them in turn, the acceptor on
// the first, TCP_NODELAY, and each read a readiness wait followed by one
// non-blocking read of up to --read-bytes (4096, sharegate's read) into the thread's buffer,
// split into lines by sharegate's own LineFramer. The only work per line: the "id" token
// copied as it came, and the method told apart by a substring search. No JSON parser, no
// Keccak, no Redis.
//
// Batching: every reply to one read goes out in one write, and the next read waits until
// that write is done. That is the most coalescing sharegate does: verifying on the I/O
// threads (a CPU verifier, --verify-on auto) it answers a read's submits in one write too,
// never in fewer. It waits for the next readiness as soon as that write has started rather
// than when it is done; on loopback, where the write completes at once, that costs the
// floor one handler dispatch a read and changes no system call.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// After the standard headers: this Boost.Asio needs <utility> seen first.
#include <boost/asio.hpp>

#include "cli/command_line.hpp"
#include "protocol/line_framer.hpp"
#include "server/io_threads.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// What sharegate sends after a subscribe in bench/run-cpu.sh: the seed's challenge and pool
// address (bench/lib/common.sh), the target of --max-target-bits 250 at the varDiff of 1
// that sharegate-loadgen --seed-redis sets (2^250), checksummed address. Captured from
// sharegate itself.
constexpr std::string_view kNotify =
    R"({"method":"mining.notify","params":["0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e",)"
    R"("1809251394333065553493296640760748560207343510400633813116524750123642650624",1,)"
    R"("0x1b7bfB694eE51913c347971c7090a74AEFbd41f6"]})"
    "\n";

// A line longer than this is not stratum: the connection is closed rather than buffered
// without end (sharegate's --max-line-bytes, whose default this is, does the same).
constexpr std::size_t kMaxLineBytes = 10240;

struct Options {
    std::uint16_t port = 0;
    std::string bind = "127.0.0.1";
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::size_t read_bytes = 4096;
};

// The "id" member's value as it came (a number or a string without a comma or brace in
// it, all a miner sends), or null when there is none: a scan, not a parse.
std::string_view id_token(std::string_view line) {
    constexpr std::string_view kKey = R"("id":)";
    const std::size_t at = line.find(kKey);
    if (at == std::string_view::npos) return "null";
    std::size_t begin = at + kKey.size();
    while (begin < line.size() && line[begin] == ' ') ++begin;
    std::size_t end = line.find_first_of(",}", begin);
    if (end == std::string_view::npos) end = line.size();
    while (end > begin && line[end - 1] == ' ') --end;
    return end > begin ? line.substr(begin, end - begin) : std::string_view("null");
}

void append_reply(std::string& out, std::string_view line) {
    if (line.empty()) return;  // sharegate answers nothing to an empty line
    out += R"({"id":)";
    out += id_token(line);
    if (line.find(R"("mining.submit")") != std::string_view::npos) {
        out += R"(,"error":[20,"Invalid digest"]})"
               "\n";
    } else if (line.find(R"("mining.subscribe")") != std::string_view::npos) {
        out += R"(,"result":true})"
               "\n";
        out += kNotify;
    } else {
        out += R"(,"error":[20,"Unknown stratum method"]})"
               "\n";
    }
}

// One miner's connection; every handler runs on its I/O thread.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, std::size_t read_bytes) : socket_(std::move(socket)), read_bytes_(read_bytes) {}

    void start() {
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ignored;
            self->socket_.set_option(tcp::no_delay(true), ignored);
            self->socket_.non_blocking(true, ignored);
            self->read();
        });
    }

private:
    void read() {
        socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& error) {
            if (error) return self->close();
            thread_local std::vector<char> buffer;
            if (buffer.size() < self->read_bytes_) buffer.resize(self->read_bytes_);
            boost::system::error_code read_error;
            const std::size_t bytes =
                self->socket_.read_some(asio::buffer(buffer.data(), self->read_bytes_), read_error);
            if (read_error == asio::error::would_block || read_error == asio::error::try_again) return self->read();
            if (read_error) return self->close();  // end of stream included: nothing is left to answer
            self->consume(std::string_view(buffer.data(), bytes));
        });
    }

    // Splits what was read into lines with sharegate's own framer (a line cut by the read's
    // end waits there) and answers them all in one write.
    void consume(std::string_view data) {
        out_.clear();
        if (!framer_.feed(data, [this](std::string_view line) { append_reply(out_, line); })) return close();
        if (out_.empty()) return read();
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                              if (error) return self->close();
                              self->read();
                          });
    }

    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    tcp::socket socket_;
    std::size_t read_bytes_;
    sharegate::protocol::LineFramer framer_{kMaxLineBytes};
    std::string out_;
};

class Listener {
public:
    Listener(sharegate::server::IoThreads& threads, const Options& options)
        : threads_(threads), acceptor_(threads.main()), retry_(threads.main()), read_bytes_(options.read_bytes) {}

    bool listen(const std::string& bind, std::uint16_t port) {
        boost::system::error_code error;
        const auto address = asio::ip::make_address(bind, error);
        if (error) {
            std::fprintf(stderr, "sharegate-floor: --bind %s: %s\n", bind.c_str(), error.message().c_str());
            return false;
        }
        const tcp::endpoint endpoint(address, port);
        acceptor_.open(endpoint.protocol(), error);
        if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
        if (!error) acceptor_.bind(endpoint, error);
        if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
        if (error) {
            std::fprintf(stderr, "sharegate-floor: cannot listen on %s:%u: %s\n", bind.c_str(), port,
                         error.message().c_str());
            return false;
        }
        return true;
    }

    void accept() {
        acceptor_.async_accept(threads_.next(), [this](boost::system::error_code error, tcp::socket socket) {
            if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (error) {
                // E.g. out of file descriptors: retry shortly rather than spin.
                retry_.expires_after(std::chrono::milliseconds(100));
                retry_.async_wait([this](const boost::system::error_code& e) {
                    if (!e && acceptor_.is_open()) accept();
                });
                return;
            }
            std::make_shared<Connection>(std::move(socket), read_bytes_)->start();
            accept();
        });
    }

    void close() {
        asio::post(threads_.main(), [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        });
    }

private:
    sharegate::server::IoThreads& threads_;
    tcp::acceptor acceptor_;
    asio::steady_timer retry_;
    std::size_t read_bytes_;
};

int run(int argc, char** argv) {
    Options options;
    sharegate::cli::CommandLine command_line(
        "sharegate-floor", "--port N [--bind ADDR] [--threads N] [--read-bytes N]",
        "A stratum responder that only moves bytes: every submit is answered [20,\"Invalid digest\"]\n"
        "unread, so sharegate-loadgen --workload invalid-digest measures what the kernel and\n"
        "Boost.Asio cost for sharegate's traffic (bench/run-cpu.sh's floor case).");
    auto& app = command_line.app();
    app.add_option("--port", options.port, "the stratum port")
        ->type_name("N")
        ->required()
        ->check(sharegate::cli::integer_in<std::uint16_t>(1));
    app.add_option("--bind", options.bind, "the address to listen on (127.0.0.1)")->type_name("ADDR");
    app.add_option("--threads", options.threads, "I/O threads (one per hardware thread, as sharegate)")
        ->type_name("N")
        ->check(sharegate::cli::integer_in<unsigned>(1, 256));
    app.add_option("--read-bytes", options.read_bytes, "the most one read takes (4096, as sharegate)")
        ->type_name("N")
        ->check(sharegate::cli::integer_in<std::size_t>(1, 1 << 24));
    const sharegate::cli::Outcome outcome = command_line.parse(argc, argv);
    if (outcome.action != sharegate::cli::Outcome::Action::run) return command_line.report(outcome);

    sharegate::server::IoThreads threads(options.threads);
    Listener listener(threads, options);
    if (!listener.listen(options.bind, options.port)) return 1;
    listener.accept();
    // SIGINT or SIGTERM (bench/lib/common.sh's stop_server): stop at once, exit 0.
    std::promise<void> signalled;
    asio::signal_set signals(threads.main(), SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        listener.close();
        signalled.set_value();
    });
    threads.start();
    signalled.get_future().wait();
    threads.stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sharegate-floor: %s\n", e.what());
        return 1;
    }
}
