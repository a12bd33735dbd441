// sharegate-loadgen: drives a stratum server with a mix of share workloads from one
// process and measures reply latency, so that "an honest miner's p99 during a flood"
// is a number rather than an impression. See bench/run-flood.sh for the usual run.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// After the standard headers: this Boost.Asio needs <utility> seen first.
#include <boost/asio.hpp>

#include "sharegate/address.hpp"
#include "sharegate/keccak.hpp"
#include "sharegate/u256.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void put_hex64(char* out, std::uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 0xf];
}

// Log-linear histogram of microseconds: exact below 1024, then 64 sub-buckets per power
// of two (under 1.6 % error), which is plenty for p99.9 and costs one array bump.
class Histogram {
public:
    void add(std::uint64_t us) {
        ++buckets_[index(us)];
        ++count_;
        max_ = std::max(max_, us);
    }
    void merge(const Histogram& o) {
        for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
        count_ += o.count_;
        max_ = std::max(max_, o.max_);
    }
    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    std::uint64_t percentile(double p) const {
        if (count_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
        rank = std::max<std::uint64_t>(rank, 1);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static constexpr int kSub = 64;
    static std::size_t index(std::uint64_t v) {
        if (v < 1024) return v;
        int exp = 63 - __builtin_clzll(v);  // >= 10
        auto sub = static_cast<std::size_t>((v >> (exp - 6)) & (kSub - 1));
        return 1024 + static_cast<std::size_t>(exp - 10) * kSub + sub;
    }
    static std::uint64_t upper(std::size_t i) {
        if (i < 1024) return i;
        std::size_t exp = (i - 1024) / kSub + 10, sub = (i - 1024) % kSub;
        return ((std::uint64_t{kSub} + sub + 1) << (exp - 6)) - 1;
    }
    std::array<std::uint64_t, 1024 + 54 * kSub> buckets_{};
    std::uint64_t count_ = 0, max_ = 0;
};

enum class Kind : std::uint8_t { valid, invalid_digest, stale, garbage, duplicate, kCount };
constexpr std::array<std::string_view, 5> kKindNames = {"valid", "invalid-digest", "stale", "garbage", "duplicate"};

struct Share {
    std::string nonce, digest, challenge;
};

struct Options {
    std::string host = "127.0.0.1";
    std::string port = "9192";
    int connections = 64;
    std::array<double, 5> mix{0, 100, 0, 0, 0};
    double rate = 0;  // 0: closed loop
    int depth = 32;
    double duration_s = 10;
    unsigned threads = 1;
    std::string corpus;
    std::uint64_t corpus_difficulty = 1;
    std::string seed_redis;
    bool honest = false;
    bool honest_mine = false;
    double honest_rate = 200;
    bool json = false;
    // Mixed into every nonce: a server remembers nonces across runs, so a second run
    // with the same nonces would be answered "duplicate" instead of "invalid digest".
    std::uint64_t seed = 0;
};

// Counters read by the progress printer while the threads write them, hence atomics;
// relaxed is enough because only totals are wanted.
struct Counters {
    std::atomic<std::uint64_t> sent{0}, answered{0}, accepted{0}, mismatches{0}, disconnects{0}, errors{0};
    std::atomic<std::uint64_t> garbage_closes{0}, lost{0}, corpus_exhausted{0};
    std::array<std::atomic<std::uint64_t>, 32> by_code{};
    // Worst latency since the progress printer last took it, to show when a stall happened.
    std::atomic<std::uint64_t> window_max_us{0}, window_honest_max_us{0};  // 0 unused; other codes land in 31
};

struct ThreadStats {
    Counters c;
    Histogram latency;
    Histogram honest_latency;
    std::uint64_t honest_answered = 0, honest_accepted = 0, honest_rejected = 0;
};

void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) { a.fetch_add(n, std::memory_order_relaxed); }
void raise(std::atomic<std::uint64_t>& a, std::uint64_t v) {
    if (v > a.load(std::memory_order_relaxed)) a.store(v, std::memory_order_relaxed);  // only its thread writes
}

struct Shared {
    Options opt;
    std::vector<Share> corpus;
    tcp::endpoint endpoint;
    std::atomic<bool> stopping{false};
    // Nothing is submitted until every connection has subscribed, so that connection
    // set-up (a SYN backlog, thousands of subscribes) is not measured as share latency.
    std::atomic<bool> measuring{false};
    std::atomic<int> subscribed{0};
    std::int64_t start_ns = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::io_context& io, Shared& shared, ThreadStats& stats, int index, bool honest,
               std::vector<const Share*> slice)
        : io_(io),
          shared_(shared),
          stats_(stats),
          socket_(io),
          retry_(io),
          honest_(honest),
          slice_(std::move(slice)),
          rng_(shared.opt.seed ^ (static_cast<std::uint64_t>(index) * 0x9e3779b97f4a7c15ULL) ^
               (honest ? 0xfeedULL : 0)) {
        char buf[43];
        std::snprintf(buf, sizeof buf, "0x%040x", honest ? 0xfeedu : static_cast<unsigned>(index + 1));
        miner_ = buf;
        for (int i = 0; i < 5; ++i) mix_total_ += shared.opt.mix[i];
        nonce_prefix_ = "0x";
        char h[17];
        put_hex64(h, static_cast<std::uint64_t>(index) | (honest ? 1ULL << 40 : 0));
        nonce_prefix_.append(h, 16);
        put_hex64(h, splitmix64(rng_));
        nonce_prefix_.append(h, 16);
        put_hex64(h, splitmix64(rng_));
        nonce_prefix_.append(h, 16);
        rbuf_.resize(shared.opt.connections > 1024 ? 4096 : 16384);  // grows when a line does not fit
    }

    const std::string& miner() const { return miner_; }
    bool ready() const { return ready_ && !closing_; }
    bool honest() const { return honest_; }

    void start() { connect(); }

    // Queues n submits; the caller flushes, so that a burst leaves in one write.
    void queue_submits(int n) {
        for (int i = 0; i < n && ready(); ++i) queue_one();
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
        std::uint32_t share;  // corpus slot, for duplicates of an accepted share
    };

    void connect() {
        socket_ = tcp::socket(io_);
        socket_.async_connect(shared_.endpoint, [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->fail();
            boost::system::error_code ignored;
            self->socket_.set_option(tcp::no_delay(true), ignored);
            self->closing_ = false;
            self->rlen_ = 0;
            self->out_ = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"" + self->miner_ + "\"]}\n";
            self->subscribe_answered_ = false;
            self->flush();
            self->read();
        });
    }

    void read() {
        if (rlen_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
        socket_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return self->fail();
                                    self->rlen_ += n;
                                    self->consume();
                                    if (self->socket_.is_open()) self->read();
                                });
    }

    void consume() {
        std::size_t start = 0;
        std::int64_t t = now_ns();
        for (;;) {
            auto* nl = static_cast<char*>(std::memchr(rbuf_.data() + start, '\n', rlen_ - start));
            if (!nl) break;
            std::string_view line(rbuf_.data() + start, static_cast<std::size_t>(nl - (rbuf_.data() + start)));
            on_line(line, t);
            start = static_cast<std::size_t>(nl - rbuf_.data()) + 1;
        }
        if (start > 0) {
            std::memmove(rbuf_.data(), rbuf_.data() + start, rlen_ - start);
            rlen_ -= start;
        }
        // Closed loop: refill to depth after the whole read, so the refill is one write.
        if (ready() && measuring() && !honest_ && shared_.opt.rate <= 0) {
            int want = shared_.opt.depth - static_cast<int>(inflight_.size());
            if (want > 0) queue_submits(want);
        }
        flush();
    }

    void on_line(std::string_view line, std::int64_t t) {
        if (line.find("\"method\"") != std::string_view::npos) return on_notify(line);
        if (!subscribe_answered_) {
            subscribe_answered_ = true;
            if (line.find("\"result\":true") == std::string_view::npos) {
                std::fprintf(stderr, "subscribe of %s refused: %.*s\n", miner_.c_str(), static_cast<int>(line.size()),
                             line.data());
                bump(stats_.c.errors);
            }
            return;
        }
        if (inflight_.empty()) {
            bump(stats_.c.errors);  // a reply to nothing we sent
            return;
        }
        Pending p = inflight_.front();
        inflight_.pop_front();
        if (shared_.stopping.load(std::memory_order_relaxed)) return;  // outside the measured window
        auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (t - p.sent_ns) / 1000));
        int code = 0;
        bool ok = line.find("\"result\":true") != std::string_view::npos;
        if (!ok) {
            auto pos = line.find("\"error\":[");
            if (pos != std::string_view::npos) {
                const char* b = line.data() + pos + 9;
                std::from_chars(b, line.data() + line.size(), code);
            }
            if (code <= 0 || code >= 31) code = 31;
        }
        bool expected = false;
        switch (p.kind) {
            case Kind::valid: expected = ok; break;
            case Kind::invalid_digest:
                expected = code == 20 && line.find("Invalid digest") != std::string_view::npos;
                break;
            case Kind::stale: expected = code == 21; break;
            case Kind::duplicate: expected = code == 22; break;
            default: break;
        }
        if (ok && p.kind == Kind::valid) last_accepted_ = static_cast<int>(p.share);
        if (honest_) {
            stats_.honest_latency.add(us);
            raise(stats_.c.window_honest_max_us, us);
            ++stats_.honest_answered;
            // An honest miner whose corpus has wrapped repeats itself; 22 is the right answer then.
            (ok ? stats_.honest_accepted : stats_.honest_rejected)++;
            if (!ok && code != 22 && stats_.c.mismatches.fetch_add(1, std::memory_order_relaxed) < 5) {
                std::fprintf(stderr, "mismatch (honest miner): %.*s\n", static_cast<int>(line.size()), line.data());
            }
            return;
        }
        stats_.latency.add(us);
        raise(stats_.c.window_max_us, us);
        bump(stats_.c.answered);
        if (ok) {
            bump(stats_.c.accepted);
        } else {
            bump(stats_.c.by_code[static_cast<std::size_t>(code)]);
        }
        if (!expected) {
            if (stats_.c.mismatches.fetch_add(1, std::memory_order_relaxed) < 5) {
                std::fprintf(stderr, "mismatch (%s): %.*s\n", kKindNames[static_cast<int>(p.kind)].data(),
                             static_cast<int>(line.size()), line.data());
            }
        }
    }

    // {"method":"mining.notify","params":["0x<challenge>","<target>",<difficulty>,"<pool>"]}
    void on_notify(std::string_view line) {
        if (line.find("mining.notify") == std::string_view::npos) return;
        auto p = line.find("\"params\":[\"");
        if (p == std::string_view::npos) return;
        p += 11;
        auto e = line.find('"', p);
        if (e == std::string_view::npos) return;
        challenge_ = std::string(line.substr(p, e - p));
        p = line.find('"', e + 1);
        e = p == std::string_view::npos ? p : line.find('"', p + 1);
        if (e == std::string_view::npos) return;
        auto target = sharegate::U256::from_decimal(line.substr(p + 1, e - p - 1));
        std::uint64_t diff = 0;
        auto c = line.find(',', e);
        if (c != std::string_view::npos) std::from_chars(line.data() + c + 1, line.data() + line.size(), diff);
        if (!target || diff == 0) {
            bump(stats_.c.errors);
            return;
        }
        difficulty_ = std::to_string(diff);
        target_ = *target;
        if (auto chal = sharegate::parse_hex32(challenge_)) challenge_bytes_ = *chal;
        auto q1 = line.find('"', c + 1), q2 = q1 == std::string_view::npos ? q1 : line.find('"', q1 + 1);
        if (q2 != std::string_view::npos) {
            if (auto pool = sharegate::Address::parse(line.substr(q1 + 1, q2 - q1 - 1))) pool_ = pool->bytes();
        }
        bool submits_corpus = (honest_ && !shared_.opt.honest_mine) || shared_.opt.mix[0] > 0 || shared_.opt.mix[4] > 0;
        if (submits_corpus && diff > shared_.opt.corpus_difficulty && !warned_difficulty_) {
            warned_difficulty_ = true;
            std::fprintf(stderr,
                         "warning: %s has difficulty %llu, above the corpus's %llu: its shares will be refused as low "
                         "difficulty (--seed-redis sets it)\n",
                         miner_.c_str(), static_cast<unsigned long long>(diff),
                         static_cast<unsigned long long>(shared_.opt.corpus_difficulty));
        }
        // Half the target with arbitrary low 64 bits stays below the target, so an
        // invalid-digest share passes the cheap target check and must be hashed.
        bad_digest_ = target->divided_by(2).to_hex();
        stale_challenge_ = challenge_;
        stale_challenge_.back() = stale_challenge_.back() == '0' ? '1' : '0';
        bool was_ready = ready_;
        ready_ = true;
        if (!counted_) {
            counted_ = true;
            shared_.subscribed.fetch_add(1);
        }
        if (!was_ready && shared_.opt.rate <= 0 && !honest_ && measuring()) {
            queue_submits(shared_.opt.depth);
            flush();
        }
    }

    bool measuring() const {
        return shared_.measuring.load(std::memory_order_relaxed) && !shared_.stopping.load(std::memory_order_relaxed);
    }

    Kind pick() {
        if (honest_) return Kind::valid;
        double r = static_cast<double>(splitmix64(rng_) >> 11) * 0x1.0p-53 * mix_total_;
        for (int i = 0; i < 5; ++i) {
            if (r < shared_.opt.mix[i]) return static_cast<Kind>(i);
            r -= shared_.opt.mix[i];
        }
        return Kind::invalid_digest;
    }

    void append_submit(std::string_view nonce, std::string_view digest, std::string_view diff, std::string_view chal) {
        char idbuf[24];
        auto [end, ec] = std::to_chars(idbuf, idbuf + sizeof idbuf, next_id_++);
        (void)ec;
        out_ += "{\"id\":";
        out_.append(idbuf, end);
        out_ += ",\"method\":\"mining.submit\",\"params\":[\"";
        out_ += nonce;
        out_ += "\",\"";
        out_ += miner_;
        out_ += "\",\"";
        out_ += digest;
        out_ += "\",";
        out_ += diff;
        out_ += ",\"";
        out_ += chal;
        out_ += "\"]}\n";
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
        inflight_.push_back({t, Kind::valid, 0});
    }

    void queue_one() {
        if (honest_ && shared_.opt.honest_mine) return queue_mined();
        Kind kind = pick();
        std::uint32_t slot = 0;
        std::int64_t t = now_ns();
        if (kind == Kind::duplicate) {
            if (last_accepted_ >= 0) {
                slot = static_cast<std::uint32_t>(last_accepted_);
            } else {
                kind = Kind::valid;  // nothing accepted yet to repeat
            }
        }
        if (kind == Kind::valid) {
            if (slice_.empty()) {
                kind = Kind::invalid_digest;
            } else if (next_share_ >= slice_.size()) {
                // Slice spent: what follows can only be a repeat, so expect the duplicate answer.
                if (!honest_) {
                    bump(stats_.c.corpus_exhausted);
                    kind = Kind::duplicate;
                }
                slot = static_cast<std::uint32_t>(next_share_++ % slice_.size());
            } else {
                slot = static_cast<std::uint32_t>(next_share_++);
            }
        }
        switch (kind) {
            case Kind::valid:
            case Kind::duplicate: {
                const Share& s = *slice_[slot];
                append_submit(s.nonce, s.digest, corpus_diff_, s.challenge);
                break;
            }
            case Kind::invalid_digest:
            case Kind::stale: {
                char nonce[66], digest[66];
                std::memcpy(nonce, nonce_prefix_.data(), 50);
                put_hex64(nonce + 50, ++counter_);
                std::memcpy(digest, bad_digest_.data(), 50);
                put_hex64(digest + 50, splitmix64(rng_));
                append_submit({nonce, 66}, {digest, 66}, difficulty_,
                              kind == Kind::stale ? stale_challenge_ : challenge_);
                break;
            }
            case Kind::garbage:
                // Not JSON: the server closes on it. Stop sending so the close is attributable.
                out_ += "this is not json {\n";
                closing_ = true;
                garbage_pending_ = true;
                bump(stats_.c.sent);
                return;
            default: break;
        }
        inflight_.push_back({t, kind, slot});
        if (!honest_) bump(stats_.c.sent);
    }

    void fail() {
        if (retry_pending_) return;  // a read and a write can both fail on one close
        boost::system::error_code ignored;
        socket_.close(ignored);
        bool stop = shared_.stopping.load();
        if (!stop) {
            if (garbage_pending_) {
                bump(stats_.c.garbage_closes);
            } else {
                bump(stats_.c.disconnects);
            }
            if (!honest_) bump(stats_.c.lost, inflight_.size());
        }
        garbage_pending_ = false;
        inflight_.clear();
        ready_ = false;
        writing_ = false;
        out_.clear();
        if (stop) return;
        retry_pending_ = true;
        retry_.expires_after(std::chrono::milliseconds(5));
        retry_.async_wait([self = shared_from_this()](boost::system::error_code) {
            self->retry_pending_ = false;
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
    std::uint64_t rng_;
    std::string miner_, nonce_prefix_, challenge_, stale_challenge_, bad_digest_, difficulty_ = "1";
    std::string corpus_diff_ = std::to_string(shared_.opt.corpus_difficulty);
    sharegate::U256 target_;
    sharegate::Bytes32 challenge_bytes_{};
    sharegate::Bytes20 pool_{};
    double mix_total_ = 0;
    std::vector<char> rbuf_;
    std::size_t rlen_ = 0;
    std::string out_, wbuf_;
    bool writing_ = false, ready_ = false, closing_ = false, subscribe_answered_ = false;
    bool garbage_pending_ = false, retry_pending_ = false, counted_ = false, warned_difficulty_ = false;
    std::deque<Pending> inflight_;
    std::uint64_t next_id_ = 2, counter_ = 0;
    std::size_t next_share_ = 0;
    int last_accepted_ = -1;
};

// One per thread: its own io_context, its connections, and the open-loop pacer.
class Worker {
public:
    explicit Worker(Shared& shared) : shared_(shared), tick_(io_) {}

    void add(std::shared_ptr<Connection> c) { (c->honest() ? honest_ : conns_).push_back(std::move(c)); }
    ThreadStats& stats() { return stats_; }
    asio::io_context& io() { return io_; }

    void run() {
        for (auto& c : conns_) c->start();
        for (auto& c : honest_) c->start();
        schedule();
        io_.run();
    }

private:
    void schedule() {
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

    void begin() {
        begin_ns_ = now_ns();
        if (shared_.opt.rate > 0) return;
        for (auto& c : conns_) {
            c->queue_submits(shared_.opt.depth);
            c->flush();
        }
    }

    // Open loop: the number due is fixed by the clock, not by replies, so a slow server
    // shows up as latency instead of as a lower offered rate.
    void pace() {
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

    Shared& shared_;
    asio::io_context io_;
    asio::steady_timer tick_;
    ThreadStats stats_;
    std::vector<std::shared_ptr<Connection>> conns_, honest_;
    std::int64_t begin_ns_ = 0;
    std::uint64_t issued_ = 0, honest_issued_ = 0;
    std::size_t rr_ = 0;
    std::vector<Connection*> touched_;
};

std::string json_field(std::string_view line, std::string_view key) {
    std::string pat = "\"" + std::string(key) + "\":\"";
    auto p = line.find(pat);
    if (p == std::string_view::npos) return {};
    p += pat.size();
    auto e = line.find('"', p);
    return e == std::string_view::npos ? std::string{} : std::string(line.substr(p, e - p));
}

std::vector<Share> load_corpus(const std::string& path) {
    std::vector<Share> out;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read corpus " + path);
    std::string line;
    while (std::getline(in, line)) {
        Share s{json_field(line, "nonce"), json_field(line, "digest"), json_field(line, "challenge")};
        if (s.nonce.size() == 66 && s.digest.size() == 66 && s.challenge.size() == 66) out.push_back(std::move(s));
    }
    return out;
}

std::pair<std::string, std::string> split_host_port(const std::string& s) {
    auto c = s.rfind(':');
    if (c == std::string::npos) throw std::runtime_error("expected HOST:PORT, got " + s);
    return {s.substr(0, c), s.substr(c + 1)};
}

std::string resp(std::initializer_list<std::string_view> args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
    return out;
}

// Pipelined HSETs; each reply is one line (":0" / ":1"), so counting CRLFs is enough.
void seed_redis(const std::string& where, const std::vector<std::string>& miners, std::uint64_t var_diff) {
    auto [host, port] = split_host_port(where);
    asio::io_context io;
    tcp::socket sock(io);
    asio::connect(sock, tcp::resolver(io).resolve(host, port));
    std::string value =
        "{\"shareCredits\":0,\"tokenBalance\":0,\"tokensAwarded\":0,\"varDiff\":" + std::to_string(var_diff) +
        ",\"validSubmittedSolutionsCount\":0}";
    std::string req;
    for (const auto& m : miners) req += resp({"HSET", "miner_data", m, value});
    asio::write(sock, asio::buffer(req));
    std::size_t lines = 0;
    std::string reply;
    char buf[4096];
    while (lines < miners.size()) {
        std::size_t n = sock.read_some(asio::buffer(buf));
        for (std::size_t i = 0; i < n; ++i) {
            if (buf[i] == '-') throw std::runtime_error("redis refused HSET");
            if (buf[i] == '\n') ++lines;
        }
    }
}

[[noreturn]] void usage(int rc) {
    std::fprintf(rc ? stderr : stdout,
                 "usage: sharegate-loadgen --target HOST:PORT [options]\n"
                 "  --connections N        connections (1..20000, default 64)\n"
                 "  --workload SPEC        NAME[=PCT][,NAME=PCT...]; names: valid invalid-digest stale garbage\n"
                 "                         duplicate (default invalid-digest)\n"
                 "  --rate R               open loop: R submits/s over all connections\n"
                 "  --depth D              closed loop: D submits in flight per connection (default 32)\n"
                 "  --duration S           seconds to measure (default 10)\n"
                 "  --threads N            io threads (default 1)\n"
                 "  --corpus FILE          valid shares, one JSON object a line (tests/vectors/valid_d1.jsonl)\n"
                 "  --corpus-difficulty D  difficulty the corpus shares are submitted at (default 1)\n"
                 "  --seed-redis HOST:PORT set every miner's varDiff to the corpus difficulty first\n"
                 "  --honest-miner         one more connection submitting the corpus at --honest-rate\n"
                 "  --honest-rate R        its submits/s (default 200)\n"
                 "  --honest-mine          the honest miner mines fresh shares instead of replaying the corpus\n"
                 "                         (needs the server's --max-target-bits raised, e.g. 250)\n"
                 "  --seed N               nonce randomness (default: a fresh one each run)\n"
                 "  --json                 print the result as JSON on stdout\n");
    std::exit(rc);
}

Options parse_args(int argc, char** argv) {
    Options o;
    o.seed = std::random_device{}() ^ static_cast<std::uint64_t>(now_ns());
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) usage(2);
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") usage(0);
        if (a == "--target") {
            std::tie(o.host, o.port) = split_host_port(need(i));
        } else if (a == "--connections") {
            o.connections = std::stoi(need(i));
            if (o.connections < 1 || o.connections > 20000) throw std::runtime_error("--connections: 1..20000");
        } else if (a == "--workload") {
            o.mix.fill(0);
            std::string spec = need(i);
            std::size_t pos = 0;
            while (pos <= spec.size()) {
                auto comma = spec.find(',', pos);
                std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                auto eq = item.find('=');
                std::string name = item.substr(0, eq);
                double pct = eq == std::string::npos ? 100 : std::stod(item.substr(eq + 1));
                auto it = std::find(kKindNames.begin(), kKindNames.end(), name);
                if (it == kKindNames.end()) throw std::runtime_error("unknown workload " + name);
                o.mix[static_cast<std::size_t>(it - kKindNames.begin())] = pct;
                if (comma == std::string::npos) break;
                pos = comma + 1;
            }
        } else if (a == "--rate") {
            o.rate = std::stod(need(i));
        } else if (a == "--depth") {
            o.depth = std::max(1, std::stoi(need(i)));
        } else if (a == "--duration") {
            o.duration_s = std::stod(need(i));
        } else if (a == "--threads") {
            o.threads = static_cast<unsigned>(std::max(1, std::stoi(need(i))));
        } else if (a == "--corpus") {
            o.corpus = need(i);
        } else if (a == "--corpus-difficulty") {
            o.corpus_difficulty = std::stoull(need(i));
        } else if (a == "--seed-redis") {
            o.seed_redis = need(i);
        } else if (a == "--honest-miner") {
            o.honest = true;
        } else if (a == "--honest-mine") {
            o.honest = o.honest_mine = true;
        } else if (a == "--honest-rate") {
            o.honest_rate = std::stod(need(i));
        } else if (a == "--seed") {
            o.seed = std::stoull(need(i));
        } else if (a == "--json") {
            o.json = true;
        } else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            usage(2);
        }
    }
    return o;
}

void print_latency(std::string& out, const char* name, const Histogram& h) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "\"%s\":{\"count\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu}", name,
                  static_cast<unsigned long long>(h.count()), static_cast<unsigned long long>(h.percentile(50)),
                  static_cast<unsigned long long>(h.percentile(90)), static_cast<unsigned long long>(h.percentile(99)),
                  static_cast<unsigned long long>(h.percentile(99.9)), static_cast<unsigned long long>(h.max()));
    out += buf;
}

int run(int argc, char** argv) {
    Shared shared;
    shared.opt = parse_args(argc, argv);
    const Options& opt = shared.opt;
    bool wants_corpus = opt.mix[0] > 0 || opt.mix[4] > 0 || (opt.honest && !opt.honest_mine);
    if (wants_corpus && opt.corpus.empty())
        throw std::runtime_error("valid, duplicate and --honest-miner need --corpus");
    if (!opt.corpus.empty()) shared.corpus = load_corpus(opt.corpus);

    {
        asio::io_context io;
        shared.endpoint = *tcp::resolver(io).resolve(opt.host, opt.port).begin();
    }

    // Each connection gets its own slice of the corpus so that no share is sent twice
    // (except as a deliberate duplicate); the honest miner gets the whole corpus when
    // no flood connection wants valid shares, else an equal slice.
    std::vector<std::vector<const Share*>> slices(static_cast<std::size_t>(opt.connections));
    std::vector<const Share*> honest_slice;
    bool flood_valid = opt.mix[0] > 0 || opt.mix[4] > 0;
    bool honest_replays = opt.honest && !opt.honest_mine;
    std::size_t parts = static_cast<std::size_t>(opt.connections) + (honest_replays ? 1 : 0);
    for (std::size_t i = 0; i < shared.corpus.size(); ++i) {
        if (honest_replays && !flood_valid) {
            honest_slice.push_back(&shared.corpus[i]);
        } else if (i % parts < static_cast<std::size_t>(opt.connections)) {
            slices[i % parts].push_back(&shared.corpus[i]);
        } else {
            honest_slice.push_back(&shared.corpus[i]);
        }
    }

    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned t = 0; t < opt.threads; ++t) workers.push_back(std::make_unique<Worker>(shared));
    std::vector<std::string> miners;
    for (int i = 0; i < opt.connections; ++i) {
        auto& w = *workers[static_cast<std::size_t>(i) % opt.threads];
        auto c = std::make_shared<Connection>(w.io(), shared, w.stats(), i, false,
                                              std::move(slices[static_cast<std::size_t>(i)]));
        miners.push_back(c->miner());
        w.add(std::move(c));
    }
    if (opt.honest) {
        auto c = std::make_shared<Connection>(workers[0]->io(), shared, workers[0]->stats(), 0, true, honest_slice);
        miners.push_back(c->miner());
        workers[0]->add(std::move(c));
    }
    if (!opt.seed_redis.empty()) seed_redis(opt.seed_redis, miners, opt.corpus_difficulty);

    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
    int everyone = opt.connections + (opt.honest ? 1 : 0);
    auto setup_start = Clock::now();
    while (shared.subscribed.load() < everyone && Clock::now() - setup_start < std::chrono::seconds(30)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "%d/%d connections subscribed in %.2f s\n", shared.subscribed.load(), everyone,
                 std::chrono::duration<double>(Clock::now() - setup_start).count());
    shared.start_ns = now_ns();
    shared.measuring = true;

    auto total = [&](auto member) {
        std::uint64_t s = 0;
        for (auto& w : workers) s += (w->stats().c.*member).load(std::memory_order_relaxed);
        return s;
    };
    std::uint64_t prev = 0;
    Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.duration_s));
    for (int sec = 1; Clock::now() < deadline; ++sec) {
        std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::seconds(1)));
        std::uint64_t a = total(&Counters::answered), wmax = 0, hmax = 0;
        for (auto& w : workers) {
            wmax = std::max(wmax, w->stats().c.window_max_us.exchange(0));
            hmax = std::max(hmax, w->stats().c.window_honest_max_us.exchange(0));
        }
        std::fprintf(
            stderr,
            "[%3ds] answered %llu/s  max %llu us  honest max %llu us  total %llu  accepted %llu  mismatches %llu"
            "  disconnects %llu\n",
            sec, static_cast<unsigned long long>(a - prev), static_cast<unsigned long long>(wmax),
            static_cast<unsigned long long>(hmax), static_cast<unsigned long long>(a),
            static_cast<unsigned long long>(total(&Counters::accepted)),
            static_cast<unsigned long long>(total(&Counters::mismatches)),
            static_cast<unsigned long long>(total(&Counters::disconnects)));
        prev = a;
    }
    shared.stopping = true;
    double elapsed = static_cast<double>(now_ns() - shared.start_ns) * 1e-9;
    for (auto& w : workers) w->io().stop();
    for (auto& t : threads) t.join();

    Histogram lat, honest_lat;
    std::uint64_t h_ans = 0, h_acc = 0, h_rej = 0;
    std::map<int, std::uint64_t> codes;
    for (auto& w : workers) {
        lat.merge(w->stats().latency);
        honest_lat.merge(w->stats().honest_latency);
        h_ans += w->stats().honest_answered;
        h_acc += w->stats().honest_accepted;
        h_rej += w->stats().honest_rejected;
        for (int c = 1; c < 32; ++c) {
            auto n = w->stats().c.by_code[static_cast<std::size_t>(c)].load();
            if (n) codes[c] += n;
        }
    }
    std::uint64_t answered = total(&Counters::answered);
    std::string out = "{";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\"duration_s\":%.3f,\"connections\":%d,\"mode\":\"%s\",\"sent\":%llu,\"answered\":%llu,"
                  "\"answered_per_second\":%.0f,\"accepted\":%llu,",
                  elapsed, opt.connections, opt.rate > 0 ? "open" : "closed",
                  static_cast<unsigned long long>(total(&Counters::sent)), static_cast<unsigned long long>(answered),
                  static_cast<double>(answered) / elapsed, static_cast<unsigned long long>(total(&Counters::accepted)));
    out += buf;
    out += "\"rejected_by_code\":{";
    bool first = true;
    for (auto [c, n] : codes) {
        out +=
            (first ? "\"" : ",\"") + (c == 31 ? std::string("other") : std::to_string(c)) + "\":" + std::to_string(n);
        first = false;
    }
    out += "},";
    print_latency(out, "latency_us", lat);
    if (opt.honest) {
        out += ",";
        print_latency(out, "honest_latency_us", honest_lat);
        std::snprintf(buf, sizeof buf, ",\"honest_answered\":%llu,\"honest_accepted\":%llu,\"honest_rejected\":%llu",
                      static_cast<unsigned long long>(h_ans), static_cast<unsigned long long>(h_acc),
                      static_cast<unsigned long long>(h_rej));
        out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  ",\"mismatches\":%llu,\"disconnects\":%llu,\"garbage_closes\":%llu,\"lost_in_flight\":%llu,"
                  "\"corpus_exhausted\":%llu,\"errors\":%llu}",
                  static_cast<unsigned long long>(total(&Counters::mismatches)),
                  static_cast<unsigned long long>(total(&Counters::disconnects)),
                  static_cast<unsigned long long>(total(&Counters::garbage_closes)),
                  static_cast<unsigned long long>(total(&Counters::lost)),
                  static_cast<unsigned long long>(total(&Counters::corpus_exhausted)),
                  static_cast<unsigned long long>(total(&Counters::errors)));
    out += buf;
    // The generator's own CPU time: near duration_s x threads means it, not the server, was the limit.
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    out.pop_back();
    std::snprintf(buf, sizeof buf, ",\"loadgen_cpu_s\":%.2f,\"threads\":%u}", cpu, opt.threads);
    out += buf;

    std::fprintf(stderr,
                 "summary: %.1f s, %llu answered (%.0f/s), accepted %llu, latency us p50 %llu p99 %llu p99.9 %llu "
                 "max %llu\n",
                 elapsed, static_cast<unsigned long long>(answered), static_cast<double>(answered) / elapsed,
                 static_cast<unsigned long long>(total(&Counters::accepted)),
                 static_cast<unsigned long long>(lat.percentile(50)),
                 static_cast<unsigned long long>(lat.percentile(99)),
                 static_cast<unsigned long long>(lat.percentile(99.9)), static_cast<unsigned long long>(lat.max()));
    if (opt.honest) {
        std::fprintf(stderr, "honest miner: %llu answered (%llu accepted), latency us p50 %llu p99 %llu max %llu\n",
                     static_cast<unsigned long long>(h_ans), static_cast<unsigned long long>(h_acc),
                     static_cast<unsigned long long>(honest_lat.percentile(50)),
                     static_cast<unsigned long long>(honest_lat.percentile(99)),
                     static_cast<unsigned long long>(honest_lat.max()));
    }
    std::fprintf(stderr, "full: %s\n", out.c_str());
    if (opt.json) std::printf("%s\n", out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sharegate-loadgen: %s\n", e.what());
        return 1;
    }
}
