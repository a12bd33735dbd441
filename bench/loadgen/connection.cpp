#include "connection.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string_view>
#include <utility>

#include "protocol/line_framer.hpp"
#include "protocol/stratum.hpp"
#include "protocol/stratum_client.hpp"
#include "sharegate/address.hpp"
#include "sharegate/keccak.hpp"
#include "sharegate/u256.hpp"
#include "util.hpp"

namespace sharegate::loadgen {

namespace asio = boost::asio;
using asio::ip::tcp;

// The server writes lines of a few hundred bytes; one past this is not stratum, and the
// connection is dropped rather than buffered without end.
constexpr std::size_t kMaxServerLineBytes = 64 * 1024;

// Reconnecting after a close: at once (5 ms) when the connection had been served, else
// twice as long after each refusal in a row, up to half a second, so that an address the
// server refuses at accept (a ban, a cap) costs neither side a busy loop.
constexpr int kFirstRetryMs = 5;
constexpr int kMaxRetryMs = 500;

// One miner: subscribes, then sends its workload, pairing each reply with what it sent
// and checking it. It reconnects after a close (the garbage workload's closes included)
// until it has sent its quota. A close is counted by what it cut short: a connect that
// failed, a connection closed before its subscribe was answered (refused at accept), or a
// served connection closed (a disconnect).
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::io_context& io, Shared& shared, ThreadStats& stats, int index, bool honest,
               std::vector<const Share*> slice, std::uint64_t quota)
        : io_(io),
          shared_(shared),
          stats_(stats),
          socket_(io),
          retry_(io),
          honest_(honest),
          slice_(std::move(slice)),
          quota_(quota),
          rng_(shared.opt.seed ^ (static_cast<std::uint64_t>(index) * 0x9e3779b97f4a7c15ULL) ^
               (honest ? 0xfeedULL : 0)) {
        char buf[43];
        std::snprintf(buf, sizeof buf, "0x%040x", honest ? 0xfeedu : static_cast<unsigned>(index + 1));
        miner_ = buf;
        for (double w : shared.opt.mix) mix_total_ += w;
        nonce_prefix_ = "0x";
        char h[17];
        put_hex64(h, static_cast<std::uint64_t>(index) | (honest ? 1ULL << 40 : 0));
        nonce_prefix_.append(h, 16);
        put_hex64(h, splitmix64(rng_));
        nonce_prefix_.append(h, 16);
        put_hex64(h, splitmix64(rng_));
        nonce_prefix_.append(h, 16);
        rbuf_.resize(shared.opt.connections > 1024 ? 4096 : 16384);  // the framer keeps a line that straddles reads
    }

    const std::string& miner() const { return miner_; }
    bool ready() const { return ready_ && !closing_ && (honest_ || can_send()); }
    bool honest() const { return honest_; }

    void start() { connect(); }

    // Queues up to n submits; the caller flushes, so that a burst leaves in one write.
    void queue_submits(int n) {
        for (int i = 0; i < n && ready(); ++i) {
            if (!queue_one()) break;
        }
    }

    void flush() {
        if (writing_ || out_.empty() || !socket_.is_open()) return;
        writing_ = true;
        wbuf_.swap(out_);
        out_.clear();
        asio::async_write(socket_, asio::buffer(wbuf_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              self->writing_ = false;
                              if (ec) return self->fail();
                              self->flush();
                          });
    }

private:
    struct Pending {
        std::int64_t sent_ns;
        Kind kind;
        Expect expect;
    };

    bool can_send() const { return !exhausted_ && issued_ < quota_; }

    void connect() {
        dead_ = false;
        connected_ = false;
        subscribe_answered_ = false;
        socket_ = tcp::socket(io_);
        if (const auto& from = honest_ ? shared_.honest_source : shared_.source) {
            boost::system::error_code ec;
            socket_.open(shared_.endpoint.protocol(), ec);
            if (!ec) socket_.bind(tcp::endpoint(*from, 0), ec);
            if (ec) {
                // Once per process: every connection would fail alike.
                static std::atomic<bool> warned{false};
                if (!warned.exchange(true)) {
                    std::fprintf(stderr, "%s: cannot bind to %s: %s\n", miner_.c_str(), from->to_string().c_str(),
                                 ec.message().c_str());
                }
                return fail();
            }
        }
        socket_.async_connect(shared_.endpoint, [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->fail();
            self->connected_ = true;
            boost::system::error_code ignored;
            self->socket_.set_option(tcp::no_delay(true), ignored);
            self->closing_ = false;
            self->framer_ = protocol::LineFramer(kMaxServerLineBytes);  // nothing of the last socket's lines
            // With a client id, as MVis-tokenminer 2.2+ subscribes: one reply line per request
            // under the server's default reply style.
            self->out_ = protocol::subscribe_request(1, self->miner_, "sharegate-loadgen");
            self->flush();
            self->read();
        });
    }

    void read() {
        socket_.async_read_some(asio::buffer(rbuf_),
                                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return self->fail();
                                    self->consume(n);
                                    if (self->socket_.is_open() && !self->dead_) self->read();
                                });
    }

    void consume(std::size_t n) {
        std::int64_t t = now_ns();
        if (!framer_.feed({rbuf_.data(), n}, [&](std::string_view line) { on_line(line, t); })) {
            std::fprintf(stderr, "%s: the server sent a line longer than %zu bytes\n", miner_.c_str(),
                         kMaxServerLineBytes);
            bump(stats_.c.errors);
            return fail();
        }
        // Closed loop: refill to depth after the whole read, so the refill is one write.
        if (ready() && measuring() && !honest_ && shared_.opt.rate <= 0) {
            int want = shared_.opt.depth - static_cast<int>(inflight_.size());
            if (want > 0) queue_submits(want);
        }
        flush();
    }

    void on_line(std::string_view line, std::int64_t t) {
        // One parser per I/O thread, not per connection: its buffers (about 4.5 KiB) would
        // otherwise cost 90 MB at 20 000 connections. A message is used up before the next
        // line on this thread is parsed.
        thread_local protocol::StratumClientParser parser;
        const protocol::ServerMessage message = parser.parse(line);
        if (message.kind == protocol::ServerMessage::Kind::notify) return on_notify(message.notify);
        if (message.kind == protocol::ServerMessage::Kind::unparseable) {
            // Nothing the server writes: counted, and not taken as the answer to a request.
            if (!warned_unreadable_) {
                warned_unreadable_ = true;
                std::fprintf(stderr, "unreadable line for %s: %.*s\n", miner_.c_str(), static_cast<int>(line.size()),
                             line.data());
            }
            bump(stats_.c.errors);
            return;
        }
        const protocol::ServerReply& reply = message.reply;
        if (!subscribe_answered_) {
            subscribe_answered_ = true;
            if (!reply.accepted()) {
                std::fprintf(stderr, "subscribe of %s refused: %.*s\n", miner_.c_str(), static_cast<int>(line.size()),
                             line.data());
                bump(stats_.c.errors);
            } else {
                retry_ms_ = kFirstRetryMs;
            }
            return;
        }
        if (inflight_.empty()) {
            bump(stats_.c.errors);  // a reply to nothing we sent
            return;
        }
        // The server answers a connection's requests in the order they came, so FIFO
        // pairs each reply with its request without parsing ids.
        Pending p = inflight_.front();
        inflight_.pop_front();
        if (shared_.stopping.load(std::memory_order_relaxed)) return;  // outside the measured window
        auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (t - p.sent_ns) / 1000));
        int code = 0;
        const bool ok = reply.accepted();
        if (!ok) {
            if (reply.has_error) code = reply.error_code;
            if (code <= 0 || code >= 31) code = 31;
        }
        if (honest_) {
            stats_.honest_latency.add(us);
            raise(stats_.c.window_honest_max_us, us);
            bump(stats_.honest_answered);
            // An honest miner whose corpus has wrapped repeats itself; 22 is the right answer then.
            bump(ok ? stats_.honest_accepted : stats_.honest_rejected);
            if (!ok && code != 22 && stats_.c.mismatches.fetch_add(1, std::memory_order_relaxed) < 5) {
                std::fprintf(stderr, "mismatch (honest miner): %.*s\n", static_cast<int>(line.size()), line.data());
            }
            return;
        }
        auto k = static_cast<std::size_t>(p.kind);
        stats_.latency.add(us);
        raise(stats_.c.window_max_us, us);
        bump(stats_.c.answered);
        bump(stats_.c.kind_answered[k]);
        if (ok) {
            bump(stats_.c.accepted);
        } else {
            bump(stats_.c.by_code[static_cast<std::size_t>(code)]);
        }
        // A defense's answer, not a miscount: the server refused to judge the share.
        if (reply.is_error(protocol::errors::kServerBusy.code, protocol::errors::kServerBusy.message)) {
            bump(stats_.c.server_busy);
        } else if (reply.is_error(protocol::errors::kRateLimited.code, protocol::errors::kRateLimited.message)) {
            bump(stats_.c.rate_limited);
        } else if (!reply_matches(p.expect, reply)) {
            bump(stats_.c.kind_mismatched[k]);
            if (stats_.c.mismatches.fetch_add(1, std::memory_order_relaxed) < 5) {
                std::fprintf(stderr, "mismatch (%s): %.*s\n", kKindNames[k].data(), static_cast<int>(line.size()),
                             line.data());
            }
            // Answered where a close was due: the connection is still usable.
            if (p.expect == Expect::close) closing_ = false;
        }
        check_finished();
    }

    void on_notify(const protocol::ServerNotify& work) {
        const std::uint64_t diff = work.difficulty;
        challenge_.assign(work.challenge_text);
        challenge_bytes_ = work.challenge;
        difficulty_ = std::to_string(diff);
        target_ = work.target;
        pool_ = work.pool.bytes();
        bool submits_corpus = (honest_ && !shared_.opt.honest_mine) || shared_.opt.mix[0] > 0 || shared_.opt.mix[4] > 0;
        if (submits_corpus && diff > shared_.opt.corpus_difficulty && !warned_difficulty_) {
            warned_difficulty_ = true;
            std::fprintf(stderr,
                         "warning: %s has difficulty %llu, above the corpus's %llu: its shares will be refused as low "
                         "difficulty (--redis HOST:PORT --seed-redis sets varDiff; the server's --min-share-difficulty "
                         "can still raise "
                         "it)\n",
                         miner_.c_str(), static_cast<unsigned long long>(diff),
                         static_cast<unsigned long long>(shared_.opt.corpus_difficulty));
        }
        // Half the target with arbitrary low 64 bits stays below the target, so an
        // invalid-digest share passes the cheap target check and must be hashed.
        bad_digest_ = target_.divided_by(2).to_hex();
        stale_challenge_ = challenge_;
        stale_challenge_.back() = stale_challenge_.back() == '0' ? '1' : '0';
        bool was_ready = ready_;
        ready_ = true;
        if (!counted_) {
            counted_ = true;
            shared_.subscribed.fetch_add(1);
        }
        if (!honest_) check_finished();
        if (!was_ready && shared_.opt.rate <= 0 && !honest_ && measuring()) {
            queue_submits(shared_.opt.depth);
            flush();
        }
    }

    bool measuring() const {
        return shared_.measuring.load(std::memory_order_relaxed) && !shared_.stopping.load(std::memory_order_relaxed);
    }

    // Smooth weighted round robin: over every run of (sum of weights) picks each kind comes
    // up exactly its weight's number of times, so a mix's counts are exact, not sampled,
    // and the heaviest kind comes first (a duplicate then has an original to repeat).
    Kind pick() {
        std::size_t best = kKinds;
        for (std::size_t k = 0; k < kKinds; ++k) {
            if (shared_.opt.mix[k] <= 0) continue;
            wrr_[k] += shared_.opt.mix[k];
            if (best == kKinds || wrr_[k] > wrr_[best]) best = k;
        }
        if (best == kKinds) return Kind::invalid_digest;
        wrr_[best] -= mix_total_;
        return static_cast<Kind>(best);
    }

    void append_submit(std::string_view nonce, std::string_view digest, std::string_view diff, std::string_view chal) {
        protocol::append_submit_request(out_, next_id_++, nonce, miner_, digest, diff, chal);
    }

    // A fresh valid share for the notify's target. Cheap only when the server runs with a
    // raised --max-target-bits (250: about 64 hashes a share); at 234 it is ~4M hashes.
    void queue_mined() {
        std::int64_t t = now_ns();
        sharegate::Bytes32 nonce{};
        for (std::size_t i = 0; i < 24; i += 8) {
            std::uint64_t r = splitmix64(rng_);
            std::memcpy(nonce.data() + i, &r, 8);
        }
        sharegate::Bytes32 digest{};
        for (std::uint64_t tries = 0;; ++tries) {
            ++counter_;
            for (int i = 0; i < 8; ++i)
                nonce[static_cast<std::size_t>(24 + i)] = static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
            digest = sharegate::share_digest(challenge_bytes_, pool_, nonce);
            if (sharegate::U256::from_be_bytes(digest) < target_) break;
            if (tries == (1u << 20)) {
                std::fprintf(stderr,
                             "honest miner: no share in 2^20 hashes; start the server with --max-target-bits 250\n");
                std::exit(1);
            }
        }
        append_submit(sharegate::to_hex(nonce), sharegate::to_hex(digest), difficulty_, challenge_);
        inflight_.push_back({t, Kind::valid, Expect::accepted});
    }

    // A share with a right digest for the notify's challenge and pool over a random nonce, at
    // the connection's difficulty: it passes the digest check and then, but for a chance of
    // about 2^-34 at 0xBitcoin's target and varDiff, misses its target. One Keccak here, one
    // on the server, and (unlike a mined share) nothing the server may keep.
    void queue_target_miss() {
        sharegate::Bytes32 nonce{};
        for (std::size_t i = 0; i < nonce.size(); i += 8) {
            const std::uint64_t r = splitmix64(rng_);
            std::memcpy(nonce.data() + i, &r, 8);
        }
        const sharegate::Bytes32 digest = sharegate::share_digest(challenge_bytes_, pool_, nonce);
        append_submit(sharegate::to_hex(nonce), sharegate::to_hex(digest), difficulty_, challenge_);
    }

    // The honest miner replays its slice round and round (mining is the other choice).
    bool queue_honest() {
        if (shared_.opt.honest_mine) {
            queue_mined();
            return true;
        }
        if (slice_.empty()) return false;
        const Share& s = *slice_[next_share_++ % slice_.size()];
        append_submit(s.nonce, s.digest, corpus_diff_, s.challenge);
        inflight_.push_back({now_ns(), Kind::valid, Expect::accepted});
        return true;
    }

    // The next corpus share of this connection's slice, never one it has sent before
    // unless --cycle allows repeats (which are then duplicates). False: the slice is spent.
    bool take_share(Kind& kind, Expect& expect, std::size_t& slot) {
        if (next_share_ < slice_.size()) {
            slot = next_share_++;
            kind = Kind::valid;
            expect = Expect::accepted;
        } else if (shared_.opt.cycle && !slice_.empty()) {
            slot = next_share_++ % slice_.size();
            kind = Kind::duplicate;
            expect = Expect::duplicate;
        } else {
            if (!exhausted_) bump(stats_.c.corpus_exhausted);
            exhausted_ = true;
            return false;
        }
        last_share_ = static_cast<std::ptrdiff_t>(slot);
        return true;
    }

    // False when nothing could be queued now: the quota or slice is spent, or a line that
    // makes the server close must wait until every earlier reply is in (the close drops them).
    bool queue_one() {
        if (honest_) return queue_honest();
        if (!can_send()) return false;
        Kind kind = pending_kind_ ? *pending_kind_ : pick();
        pending_kind_.reset();
        Expect expect = Expect::accepted;
        std::size_t slot = 0;
        std::int64_t t = now_ns();
        switch (kind) {
            case Kind::valid:
                if (!take_share(kind, expect, slot)) return finish_if_idle();
                break;
            case Kind::duplicate:
                if (last_share_ < 0) {
                    // Nothing sent yet to repeat: the original goes first, as a valid submit.
                    if (!take_share(kind, expect, slot)) return finish_if_idle();
                } else {
                    slot = static_cast<std::size_t>(last_share_);
                    expect = Expect::duplicate;
                }
                break;
            case Kind::invalid_digest:
            case Kind::stale: expect = kind == Kind::stale ? Expect::stale : Expect::invalid_digest; break;
            case Kind::target_miss: expect = Expect::target_not_met; break;
            case Kind::garbage: {
                auto variant = static_cast<Garbage>(garbage_seq_ % 3);
                if (variant == Garbage::not_json && !inflight_.empty()) {
                    pending_kind_ = kind;
                    return false;
                }
                ++garbage_seq_;
                expect = variant == Garbage::bad_params   ? Expect::bad_params
                         : variant == Garbage::not_object ? Expect::unknown_method
                                                          : Expect::close;
                break;
            }
        }
        switch (expect) {
            case Expect::accepted:
            case Expect::duplicate: {
                const Share& s = *slice_[slot];
                append_submit(s.nonce, s.digest, corpus_diff_, s.challenge);
                break;
            }
            case Expect::invalid_digest:
            case Expect::stale: {
                char nonce[66], digest[66];
                std::memcpy(nonce, nonce_prefix_.data(), 50);
                put_hex64(nonce + 50, ++counter_);
                std::memcpy(digest, bad_digest_.data(), 50);
                put_hex64(digest + 50, splitmix64(rng_));
                append_submit({nonce, 66}, {digest, 66}, difficulty_,
                              kind == Kind::stale ? stale_challenge_ : challenge_);
                break;
            }
            case Expect::target_not_met: queue_target_miss(); break;
            case Expect::bad_params: append_submit("0x1234", bad_digest_, difficulty_, challenge_); break;
            case Expect::unknown_method: out_ += "[1,2,3]\n"; break;
            case Expect::close:
                // Not JSON: the server closes on it, so nothing more is sent on this socket.
                out_ += "this is not json {\n";
                closing_ = true;
                break;
        }
        inflight_.push_back({t, kind, expect});
        ++issued_;
        bump(stats_.c.sent);
        bump(stats_.c.kind_sent[static_cast<std::size_t>(kind)]);
        return true;
    }

    bool finish_if_idle() {
        check_finished();
        return false;
    }

    void check_finished() {
        if (finished_ || honest_ || can_send() || !inflight_.empty()) return;
        finished_ = true;
        shared_.finished.fetch_add(1);
    }

    void fail() {
        if (dead_) return;  // a read and a write can both fail on one close
        dead_ = true;
        boost::system::error_code ignored;
        socket_.close(ignored);
        bool stop = shared_.stopping.load();
        if (!stop) {
            if (inflight_.size() == 1 && inflight_.front().expect == Expect::close) {
                // The close this garbage line asked for: its answer.
                bump(stats_.c.garbage_closes);
                bump(stats_.c.answered);
                bump(stats_.c.kind_answered[static_cast<std::size_t>(Kind::garbage)]);
            } else if (!connected_) {
                bump(stats_.c.connect_failures);
            } else if (!subscribe_answered_) {
                bump(stats_.c.refused);
            } else {
                bump(stats_.c.disconnects);
                if (!honest_) bump(stats_.c.lost, inflight_.size());
                if (!honest_ && shared_.measuring.load(std::memory_order_relaxed)) {
                    std::int64_t none = 0;
                    shared_.first_disconnect_ns.compare_exchange_strong(none, now_ns());
                }
            }
            if (honest_) bump(stats_.honest_disconnects);
        }
        const bool served = connected_ && subscribe_answered_;
        inflight_.clear();
        ready_ = false;
        writing_ = false;
        out_.clear();
        if (stop) return;
        check_finished();
        if (finished_) return;
        bump(stats_.c.reconnects);
        if (served) retry_ms_ = kFirstRetryMs;
        retry_.expires_after(std::chrono::milliseconds(retry_ms_));
        if (!served) retry_ms_ = std::min(retry_ms_ * 2, kMaxRetryMs);
        retry_.async_wait([self = shared_from_this()](boost::system::error_code) {
            if (!self->shared_.stopping.load()) self->connect();
        });
    }

    asio::io_context& io_;
    Shared& shared_;
    ThreadStats& stats_;
    tcp::socket socket_;
    asio::steady_timer retry_;
    bool honest_;
    std::vector<const Share*> slice_;
    std::uint64_t quota_;
    std::uint64_t rng_;
    std::string miner_, nonce_prefix_, challenge_, stale_challenge_, bad_digest_, difficulty_ = "1";
    std::string corpus_diff_ = std::to_string(shared_.opt.corpus_difficulty);
    sharegate::U256 target_;
    sharegate::Bytes32 challenge_bytes_{};
    sharegate::Bytes20 pool_{};
    double mix_total_ = 0;
    std::array<double, kKinds> wrr_{};
    std::optional<Kind> pending_kind_;
    std::vector<char> rbuf_;
    protocol::LineFramer framer_{kMaxServerLineBytes};
    std::string out_, wbuf_;
    bool writing_ = false, ready_ = false, closing_ = false, subscribe_answered_ = false, dead_ = false;
    bool connected_ = false;
    int retry_ms_ = kFirstRetryMs;
    bool counted_ = false, warned_difficulty_ = false, warned_unreadable_ = false, exhausted_ = false,
         finished_ = false;
    std::deque<Pending> inflight_;
    std::uint64_t next_id_ = 2, counter_ = 0, issued_ = 0, garbage_seq_ = 0;
    std::size_t next_share_ = 0;
    std::ptrdiff_t last_share_ = -1;
};

Worker::Worker(Shared& shared) : shared_(shared), tick_(io_) {}

Worker::~Worker() = default;

std::string Worker::add(int index, bool honest, std::vector<const Share*> slice, std::uint64_t quota) {
    auto c = std::make_shared<Connection>(io_, shared_, stats_, index, honest, std::move(slice), quota);
    std::string miner = c->miner();
    (honest ? honest_ : conns_).push_back(std::move(c));
    return miner;
}

void Worker::run() {
    for (auto& c : conns_) c->start();
    for (auto& c : honest_) c->start();
    schedule();
    io_.run();
}

void Worker::schedule() {
    tick_.expires_after(std::chrono::microseconds(500));
    tick_.async_wait([this](boost::system::error_code ec) {
        if (ec || shared_.stopping.load()) return;
        if (shared_.measuring.load()) {
            if (begin_ns_ == 0) begin();
            pace();
        }
        schedule();
    });
}

void Worker::begin() {
    begin_ns_ = now_ns();
    if (shared_.opt.rate > 0) return;
    for (auto& c : conns_) {
        c->queue_submits(shared_.opt.depth);
        c->flush();
    }
}

// Open loop: the number due is fixed by the clock, not by replies, so a slow server
// shows up as latency instead of as a lower offered rate.
void Worker::pace() {
    double elapsed = static_cast<double>(now_ns() - begin_ns_) * 1e-9;
    if (shared_.opt.rate > 0 && !conns_.empty()) {
        double per_thread = shared_.opt.rate * static_cast<double>(conns_.size()) / shared_.opt.connections;
        auto due = static_cast<std::uint64_t>(elapsed * per_thread);
        // Only the connections given work are flushed: walking thousands of idle ones
        // every tick would cost more than the submits.
        std::size_t tried = 0;
        while (issued_ < due && tried < conns_.size()) {
            auto& c = conns_[rr_];
            rr_ = rr_ + 1 == conns_.size() ? 0 : rr_ + 1;
            if (!c->ready()) {
                ++tried;
                continue;
            }
            tried = 0;
            c->queue_submits(1);
            ++issued_;
            if (touched_.size() < conns_.size() && (touched_.empty() || touched_.back() != c.get()))
                touched_.push_back(c.get());
        }
        if (issued_ < due) issued_ = due;  // nobody connected: drop what was due rather than burst later
        for (auto* c : touched_) c->flush();
        touched_.clear();
    }
    for (auto& h : honest_) {
        auto due = static_cast<std::uint64_t>(elapsed * shared_.opt.honest_rate);
        if (!h->ready()) {
            honest_issued_ = due;
            continue;
        }
        if (due > honest_issued_) {
            h->queue_submits(static_cast<int>(due - honest_issued_));
            honest_issued_ = due;
            h->flush();
        }
    }
}

}  // namespace sharegate::loadgen
