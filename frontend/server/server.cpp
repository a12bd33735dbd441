#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <future>
#include <thread>

#include "server/proxy_handshake.hpp"
#include "server/session.hpp"

namespace sharegate::server {

namespace getwork = protocol::getwork;

namespace asio = boost::asio;

namespace {

// Redis calls these on its own threads; each is posted to the I/O threads, where the
// state it touches is locked or belongs to a session's I/O thread.
redis::Events make_events(asio::io_context& io, std::function<void(const Bytes32&)> set_challenge,
                          std::function<void(const redis::VarDiffUpdate&)> on_var_diff,
                          std::function<void(const redis::PoolSnapshot&)> on_snapshot,
                          std::function<void(std::uint64_t)> on_block,
                          std::function<void(const redis::BanRecord&)> on_ban, bool spooled) {
    redis::Events events;
    events.on_ban = [&io, on_ban](const redis::BanRecord& ban) { asio::post(io, [on_ban, ban] { on_ban(ban); }); };
    events.on_bans = [&io, on_ban](std::vector<redis::BanRecord> bans) {
        asio::post(io, [on_ban, bans = std::move(bans)] {
            for (const auto& ban : bans) on_ban(ban);
        });
    };
    events.on_snapshot = [&io, on_snapshot](const redis::PoolSnapshot& snapshot) {
        asio::post(io, [on_snapshot, snapshot] { on_snapshot(snapshot); });
    };
    events.on_challenge = [&io, set_challenge](const Bytes32& challenge) {
        asio::post(io, [set_challenge, challenge] { set_challenge(challenge); });
    };
    events.on_block = [&io, on_block](std::uint64_t block) { asio::post(io, [on_block, block] { on_block(block); }); };
    events.on_var_diff = [&io, on_var_diff](const redis::VarDiffUpdate& update) {
        asio::post(io, [on_var_diff, update] { on_var_diff(update); });
    };
    // The pipeline calls this on each change of state only (not at each reconnect attempt),
    // always on its one thread: one line when Redis is first reached, one when it is lost,
    // one when it is back.
    struct Link {
        bool ever_up = false;
        std::chrono::steady_clock::time_point lost_at;
    };
    events.on_connection = [spooled, link = std::make_shared<Link>()](bool up) {
        if (!up) {
            link->lost_at = std::chrono::steady_clock::now();
            spdlog::warn("redis: connection lost; {} until it is back",
                         spooled ? "accepted shares go to the spool" : "accepted shares wait (no spool)");
        } else if (!link->ever_up) {
            link->ever_up = true;
            spdlog::info("redis: connected");
        } else {
            const std::chrono::duration<double> down = std::chrono::steady_clock::now() - link->lost_at;
            spdlog::info("redis: connection restored after {:.1f} s", down.count());
        }
    };
    return events;
}

Admission::Limits admission_limits(const Options& options) {
    Admission::Limits limits;
    limits.per_address = options.max_connections_per_address;
    limits.allow = options.allow;
    limits.total = options.max_connections;
    if (limits.total == 0) {
        // main() has raised the soft limit as far as it goes; what it reached is what counts.
        rlimit files{};
        const std::uint64_t limit = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                                        ? files.rlim_cur
                                        : std::uint64_t{1} << 20;
        limits.total = default_max_connections(limit);
    }
    return limits;
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "sharegate";
    return name;
}

// Once per episode (Admission decides when one starts), not once per refused connection.
void log_refusal_episode(Admission::Verdict verdict, const IpAddress& address, std::size_t open, std::size_t cap) {
    if (verdict == Admission::Verdict::over_total_cap) {
        spdlog::warn("refusing connections: {} open in all (cap {}; first refused: {})", open, cap,
                     address.to_string());
    } else {
        spdlog::warn("refusing connections from {}: {} open (cap {})", address.to_string(), open, cap);
    }
}

}  // namespace

Server::Server(Options options, Verifier& verifier, std::unique_ptr<spool::Spool> spool)
    : options_(std::move(options)),
      instance_name_(host_name() + ":" + std::to_string(options_.port)),
      verifier_(verifier),
      verifier_name_(verifier.name()),
      // auto: the CPU kernels may run on every I/O thread at once; a device wants the
      // batcher's large batches.
      // (--verify-on io with --verifier auto that chose a GPU: the batcher too, see run()).
      verify_inline_(options_.verify_on != Options::VerifyOn::batcher && verifier_name_.starts_with("cpu")),
      admission_(admission_limits(options_),
                 [this](Admission::Verdict verdict, const IpAddress& address, std::size_t open, std::size_t cap) {
                     log_refusal_episode(verdict, address, open, cap);
                 }),
      bans_(options_.bans),
      io_threads_(options_.threads),
      stratum_listener_{asio::ip::tcp::acceptor(io_threads_.main()), asio::steady_timer(io_threads_.main())},
      getwork_listener_{asio::ip::tcp::acceptor(io_threads_.main()), asio::steady_timer(io_threads_.main())},
      stats_timer_(io_threads_.main()),
      batcher_(verifier, options_.pool, options_.batch_size, options_.batch_window,
               BatchHistograms{&stats_.batch_shares, &stats_.verify_seconds}),
      inline_verifier_(verifier, options_.pool, BatchHistograms{&stats_.batch_shares, &stats_.verify_seconds}),
      redis_(options_.redis, make_events(
                                 io_threads_.main(), [this](const Bytes32& challenge) { set_challenge(challenge); },
                                 [this](const redis::VarDiffUpdate& update) { on_var_diff(update); },
                                 [this](const redis::PoolSnapshot& snapshot) { apply_snapshot(snapshot); },
                                 [this](std::uint64_t block) { set_block(block); },
                                 [this](const redis::BanRecord& ban) { on_pool_ban(ban); },
                                 /*spooled=*/spool != nullptr)),
      spool_(std::move(spool)),
      share_store_(redis_, spool_.get(), options_.redis_bound, &stats_.redis_push_seconds),
      intake_(pool_state_, verify_queue(), share_store_, stats_, options_.max_target_bits,
              options_.max_shares_per_challenge, pool::LoadShedding(options_.max_queued_shares)) {
    if (options_.getwork_port != 0) getwork_ = std::make_unique<GetworkDoor>(*this, io_threads_.main());
}

Server::~Server() {
    // All call into intake_ (a verdict, a store acknowledgement), which is destroyed
    // before them; run() has stopped them already unless it never ran.
    batcher_.stop();
    inline_verifier_.stop();
    share_store_.stop();
    redis_.stop();
    if (spool_) spool_->close();
}

void Server::apply_snapshot(const redis::PoolSnapshot& snapshot) {
    if (snapshot.eth_block) pool_state_.set_block(*snapshot.eth_block);
    if (snapshot.mining_target) pool_state_.set_mining_target(*snapshot.mining_target);
    if (snapshot.challenge) set_challenge(*snapshot.challenge);
}

void Server::set_block(std::uint64_t block) { pool_state_.set_block(block); }

void Server::set_challenge(const Bytes32& challenge) {
    const std::optional<Bytes32> previous = pool_state_.challenge();
    const bool first = !previous;
    if (!pool_state_.set_challenge(challenge)) return;
    if (!first) stats_.challenge_changes.fetch_add(1, std::memory_order_relaxed);
    intake_.forget_duplicates();
    // Miners still finishing the old work send invalid shares for a moment; not at start-up.
    if (!first) bans_.challenge_changed(BanBook::Clock::now());
    auto all = sessions();
    if (first) {
        spdlog::info("challenge {} (block {}): notifying {} connections", to_hex(challenge), pool_state_.block(),
                     all.size());
    } else {
        spdlog::info("challenge changed {} -> {} (block {}): notifying {} connections", to_hex(*previous),
                     to_hex(challenge), pool_state_.block(), all.size());
    }
    // Each I/O thread notifies its own sessions (a handful of threads: a linear search).
    std::vector<std::shared_ptr<SessionList>> by_thread;
    for (auto& session : all) {
        auto list = std::find_if(by_thread.begin(), by_thread.end(),
                                 [&](const auto& l) { return l->front()->home() == session->home(); });
        if (list == by_thread.end()) list = by_thread.insert(by_thread.end(), std::make_shared<SessionList>());
        (*list)->push_back(std::move(session));
    }
    for (auto& list : by_thread) {
        const auto home = list->front()->home();
        asio::post(home, [this, list = std::move(list)]() mutable { notify_chunk(std::move(list), 0); });
    }
}

// A new challenge reaches a thread's sessions a chunk at a time, on that thread: a chunk's
// notifies are written, then the next chunk is posted behind whatever that thread's queue
// gathered meanwhile (the reads of miners' submits), so that a fan-out to 100 000 miners
// does not hold every reply up until it is done. Each thread paces its own sessions: when
// one thread posted every thread's chunks, a thread that got less CPU (the other I/O
// thread, descheduled on a shared machine) piled up the notifies of every chunk posted
// meanwhile ahead of its miners' reads.
void Server::notify_chunk(std::shared_ptr<SessionList> sessions, std::size_t from) {
    const std::size_t to = std::min(sessions->size(), from + kNotifyChunk);
    for (std::size_t i = from; i < to; ++i) (*sessions)[i]->notify();
    if (to < sessions->size()) {
        const auto home = (*sessions)[to]->home();
        asio::post(home,
                   [this, sessions = std::move(sessions), to]() mutable { notify_chunk(std::move(sessions), to); });
    }
}

void Server::on_var_diff(const redis::VarDiffUpdate& update) {
    for (auto& session : sessions()) session->post_var_diff(update.miner, update.var_diff);
    if (getwork_) getwork_->on_var_diff(update.miner, update.var_diff);
}

std::vector<std::shared_ptr<Session>> Server::sessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lock(sessions_mutex_);
    out.reserve(sessions_.size());
    for (auto& [key, weak] : sessions_) {
        if (auto session = weak.lock()) out.push_back(std::move(session));
    }
    return out;
}

void Server::remove_session(const Session* session) {
    std::lock_guard lock(sessions_mutex_);
    if (sessions_.erase(session)) stats_.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

Server::Listener& Server::listener(Door door) { return door == Door::stratum ? stratum_listener_ : getwork_listener_; }

bool Server::listen(Door door, std::uint16_t port) {
    boost::system::error_code error;
    auto address = asio::ip::make_address(options_.bind, error);
    if (error) {
        spdlog::error("--bind {}: {}", options_.bind, error.message());
        return false;
    }
    asio::ip::tcp::endpoint endpoint(address, port);
    auto& acceptor = listener(door).acceptor;
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
        spdlog::error("cannot listen on {}:{}{}: {}", options_.bind, port, door == Door::getwork ? " (getwork)" : "",
                      error.message());
        return false;
    }
    return true;
}

void Server::do_accept(Door door) {
    // Runs on the main I/O thread (the acceptors' context), as does its handler. The
    // connection lives on the next I/O thread's context (io_threads.hpp).
    Listener& l = listener(door);
    l.acceptor.async_accept(io_threads_.next(),
                            [this, door](boost::system::error_code error, asio::ip::tcp::socket socket) {
                                Listener& l = listener(door);
                                if (error == asio::error::operation_aborted || !l.acceptor.is_open()) return;
                                if (error) {
                                    // E.g. out of file descriptors: retry shortly rather than spin.
                                    spdlog::warn("accept: {}", error.message());
                                    l.retry_timer.expires_after(std::chrono::milliseconds(100));
                                    l.retry_timer.async_wait([this, door](const boost::system::error_code& e) {
                                        if (!e && listener(door).acceptor.is_open()) do_accept(door);
                                    });
                                    return;
                                }
                                admit(std::move(socket), door);
                                do_accept(door);
                            });
}

namespace {

IpAddress ip_of(const asio::ip::address& address) {
    return address.is_v4() ? IpAddress::v4(address.to_v4().to_uint()) : IpAddress::v6(address.to_v6().to_bytes());
}

std::string remote_text(const IpAddress& address, std::uint16_t port) {
    const std::string text = address.to_string();
    return (address.is_v4_mapped() ? text : "[" + text + "]") + ":" + std::to_string(port);
}

}  // namespace

void Server::admit(asio::ip::tcp::socket socket, Door door) {
    boost::system::error_code error;
    const auto peer = socket.remote_endpoint(error);
    if (error) return;  // gone already (reset before it was accepted): the socket closes here
    const IpAddress ip = ip_of(peer.address());
    if (in_any(options_.proxies, ip)) return admit_through_proxy(std::move(socket), ip, peer.port(), door);
    admit_miner(std::move(socket), ip, remote_text(ip, peer.port()), {}, door);
}

void Server::admit_through_proxy(asio::ip::tcp::socket socket, const IpAddress& proxy, std::uint16_t proxy_port,
                                 Door door) {
    // The proxy holds thousands of miners' connections: the caps and bans apply to the
    // address its header names, once the header is read (within the subscribe deadline).
    const auto deadline = std::chrono::seconds(options_.subscribe_timeout_s);
    read_proxy_header(std::move(socket), deadline,
                      [this, proxy, proxy_port, door](asio::ip::tcp::socket socket, ProxyHandshakeResult result) {
                          const std::string via = remote_text(proxy, proxy_port);
                          if (!result.ok) {
                              stats_.refused_proxy.fetch_add(1, std::memory_order_relaxed);
                              spdlog::debug("{}: closed: {}", via, result.why);  // counted in the stats line
                              boost::system::error_code ignored;
                              socket.close(ignored);
                              return;
                          }
                          if (!result.source) {
                              // LOCAL or UNKNOWN: the proxy speaking for itself (a health check).
                              return admit_miner(std::move(socket), proxy, via, std::move(result.leftover), door);
                          }
                          const IpAddress miner = IpAddress::v6(*result.source);
                          admit_miner(std::move(socket), miner,
                                      remote_text(miner, result.source_port) + " via " + proxy.to_string(),
                                      std::move(result.leftover), door);
                      });
}

void Server::admit_miner(asio::ip::tcp::socket socket, const IpAddress& ip, std::string remote, std::string received,
                         Door door) {
    boost::system::error_code error;
    if (bans_.banned(ip, BanBook::Clock::now())) {
        // Logged once, when the ban was made; counted for every refusal.
        stats_.refused_banned.fetch_add(1, std::memory_order_relaxed);
        socket.close(error);
        return;
    }
    switch (admission_.admit(ip)) {
        case Admission::Verdict::admitted: break;
        case Admission::Verdict::over_address_cap:
            stats_.refused_address_cap.fetch_add(1, std::memory_order_relaxed);
            socket.close(error);  // before any read: no Session, no buffer, no timer
            return;
        case Admission::Verdict::over_total_cap:
            stats_.refused_total_cap.fetch_add(1, std::memory_order_relaxed);
            socket.close(error);
            return;
    }
    if (door == Door::getwork) {
        getwork_->serve(std::move(socket), Admission::Slot(admission_, ip), ip, std::move(remote), std::move(received));
        return;
    }
    auto session =
        std::make_shared<Session>(std::move(socket), *this, Admission::Slot(admission_, ip), ip, std::move(remote));
    {
        std::lock_guard lock(sessions_mutex_);
        sessions_.emplace(session.get(), session);
    }
    stats_.connections_open.fetch_add(1, std::memory_order_relaxed);
    stats_.connections_total.fetch_add(1, std::memory_order_relaxed);
    session->start(std::move(received));
}

void Server::on_ban(const Ban& ban) {
    stats_.bans.fetch_add(1, std::memory_order_relaxed);
    if (ban.cause == Ban::Cause::junk_lines) stats_.bans_junk.fetch_add(1, std::memory_order_relaxed);
    if (ban.cause == Ban::Cause::invalid_submits) stats_.bans_invalid.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("banned {} for {} (offence {}): {}", ban.address.to_string(), describe_duration(ban.length),
                 ban.offence, ban.reason);
    close_connections_of(ban.address, "banned");
    // Every instance on this Redis refuses the address too (and learns the offence).
    redis::BanRecord record;
    record.address = ban.address.to_string();
    record.until_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ban.until.time_since_epoch()).count();
    record.offence = ban.offence;
    record.reason = ban.reason;
    record.by = instance_name_;
    redis_.publish_ban(std::move(record));
}

void Server::on_pool_ban(const redis::BanRecord& record) {
    const auto address = IpAddress::parse(record.address);
    if (!address) return;  // the codec accepts only addresses that parse
    const BanBook::Clock::time_point until{std::chrono::milliseconds(record.until_unix_ms)};
    const std::string reason = record.reason + " (by " + record.by + ")";
    if (!bans_.apply(Ban{*address, until, record.offence, reason, {}}, BanBook::Clock::now())) return;
    if (record.is_lift()) {
        spdlog::info("ban on {} lifted by {}", record.address, record.by);
        return;
    }
    stats_.bans_learnt.fetch_add(1, std::memory_order_relaxed);
    const auto left = std::chrono::ceil<std::chrono::seconds>(until - BanBook::Clock::now());
    spdlog::warn("banned {} for {} (offence {}) by {}: {}", record.address,
                 describe_duration(std::max(left, std::chrono::seconds(0))), record.offence, record.by, record.reason);
    close_connections_of(*address, "banned");
}

bool Server::first_misdirected_proxy(const IpAddress& address) {
    constexpr std::size_t kMaxRemembered = 1024;  // a misconfiguration names a few balancers, not thousands
    std::lock_guard lock(misdirected_proxy_mutex_);
    if (misdirected_proxies_.size() >= kMaxRemembered && !misdirected_proxies_.count(address))
        misdirected_proxies_.clear();
    return misdirected_proxies_.insert(address).second;
}

void Server::close_connections_of(const IpAddress& address, const std::string& why) {
    std::size_t closed = 0;
    for (auto& session : sessions()) {
        if (session->peer() != address) continue;
        session->post_close(why);
        ++closed;
    }
    stats_.closed_banned.fetch_add(closed, std::memory_order_relaxed);
    if (getwork_) getwork_->close_connections_of(address);
}

void Server::schedule_stats() {
    stats_timer_.expires_after(std::chrono::seconds(options_.stats_interval_s));
    stats_timer_.async_wait([this](const boost::system::error_code& error) {
        if (error) return;
        log_stats();
        schedule_stats();
    });
}

void Server::log_stats() {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_stats_.at).count();
    if (seconds <= 0) seconds = 1;
    Snapshot current;
    current.at = now;
    current.accepted = stats_.accepted.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < current.rejected.size(); ++i)
        current.rejected[i] = stats_.rejected[i].load(std::memory_order_relaxed);
    current.batcher = verify_stats();

    std::string rejected;
    std::uint64_t rejected_total = 0;
    for (std::size_t i = 0; i < current.rejected.size(); ++i) {
        std::uint64_t delta = current.rejected[i] - last_stats_.rejected[i];
        rejected_total += delta;
        if (delta) rejected += fmt::format(" {}={:.1f}", kRejectionNames[i], delta / seconds);
    }
    std::uint64_t batches = current.batcher.batches - last_stats_.batcher.batches;
    std::uint64_t verified = current.batcher.shares - last_stats_.batcher.shares;
    double verify_ms = (current.batcher.verify_ns - last_stats_.batcher.verify_ns) / 1e6;
    redis::Counters redis = redis_.counters();
    spdlog::info(
        "stats: {} connections; shares/s accepted {:.1f}, rejected {:.1f}{}; {} batches, mean {:.1f} shares, "
        "verifier {:.1f} ms; solutions {}; redis {} queued, {} pushed, {} claimed elsewhere{}; closed since start: not "
        "JSON {}, "
        "long line {}, slow reader {}, idle {}, no subscribe {}, banned {}; refused at accept: address cap {}, "
        "total cap {}, banned {}, PROXY header {}; bans made {}, learnt {}; shed {}",
        stats_.connections_open.load(std::memory_order_relaxed), (current.accepted - last_stats_.accepted) / seconds,
        rejected_total / seconds, rejected.empty() ? "" : " (" + rejected.substr(1) + ")", batches,
        batches ? static_cast<double>(verified) / batches : 0.0, verify_ms,
        stats_.solutions.load(std::memory_order_relaxed), redis.queued, redis.shares_pushed,
        redis.shares_claimed_elsewhere, redis_.connected() ? "" : ", DISCONNECTED",
        stats_.closed_not_json.load(std::memory_order_relaxed), stats_.closed_flooding.load(std::memory_order_relaxed),
        stats_.closed_slow_reader.load(std::memory_order_relaxed), stats_.closed_idle.load(std::memory_order_relaxed),
        stats_.closed_no_subscribe.load(std::memory_order_relaxed),
        stats_.closed_banned.load(std::memory_order_relaxed),
        stats_.refused_address_cap.load(std::memory_order_relaxed),
        stats_.refused_total_cap.load(std::memory_order_relaxed), stats_.refused_banned.load(std::memory_order_relaxed),
        stats_.refused_proxy.load(std::memory_order_relaxed), stats_.bans.load(std::memory_order_relaxed),
        stats_.bans_learnt.load(std::memory_order_relaxed), stats_.shed.load(std::memory_order_relaxed));
    if (getwork_) {
        const auto requests = stats_.getwork_requests.load(std::memory_order_relaxed);
        const auto refused = [this](HttpRefusal refusal) {
            return stats_.getwork_http_refused[static_cast<std::size_t>(refusal)].load(std::memory_order_relaxed);
        };
        const auto body = [this](getwork::BodyError error) {
            return stats_.getwork_bad_bodies[static_cast<std::size_t>(error)].load(std::memory_order_relaxed);
        };
        const auto call = [this](std::size_t kind) {
            return stats_.getwork_call_errors[kind].load(std::memory_order_relaxed);
        };
        spdlog::info(
            "getwork: {} connections; requests {:.1f}/s, calls {}; bodies refused: not JSON {}, too deep {}, not a "
            "request {}, batch too large {}; calls refused: invalid {}, no such method {}, bad params {}; HTTP "
            "refused: malformed {}, not POST {}, body too large {}, header too large {}, too slow {}",
            stats_.getwork_connections_open.load(std::memory_order_relaxed),
            (requests - last_stats_.getwork_requests) / seconds, stats_.getwork_calls.load(std::memory_order_relaxed),
            body(getwork::BodyError::not_json), body(getwork::BodyError::too_deep),
            body(getwork::BodyError::not_a_request), body(getwork::BodyError::batch_too_large), call(0), call(1),
            call(2), refused(HttpRefusal::malformed), refused(HttpRefusal::method_not_allowed),
            refused(HttpRefusal::body_too_large), refused(HttpRefusal::header_too_large),
            refused(HttpRefusal::request_timeout));
        current.getwork_requests = requests;
    }
    if (spool_) {
        const spool::Stats spool = spool_->stats();
        const SpoolCounters counters = share_store_.counters();
        const auto oldest_s =
            spool.oldest
                ? std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *spool.oldest)
                      .count()
                : 0;
        const redis::PushLatency latency = redis_.push_latency();
        spdlog::info(
            "spool: {} shares waiting ({} bytes, oldest {} s); since start spooled {}, replayed {} ({:.1f}/s), refused "
            "{}; redis push latency mean {:.1f} ms, max {:.1f} ms",
            spool.records_waiting, spool.bytes, oldest_s, counters.spooled, counters.replayed,
            (counters.replayed - last_stats_.replayed) / seconds, counters.refused, latency.mean.count() / 1000.0,
            latency.max.count() / 1000.0);
        current.replayed = counters.replayed;
    }
    last_stats_ = current;
}

// At exit: what became of every submit since the start, by reason, both doors together
// (the periodic lines give rates; this is the count an operator reconciles with Redis).
void Server::log_totals() {
    std::string rejected;
    std::uint64_t rejected_total = 0;
    for (std::size_t i = 0; i < stats_.rejected.size(); ++i) {
        const std::uint64_t count = stats_.rejected[i].load(std::memory_order_relaxed);
        rejected_total += count;
        if (count) rejected += fmt::format(" {}={}", kRejectionNames[i], count);
    }
    spdlog::info("totals since start: accepted {}, rejected {}{}; getwork requests {}, calls {}",
                 stats_.accepted.load(std::memory_order_relaxed), rejected_total,
                 rejected.empty() ? "" : " (" + rejected.substr(1) + ")",
                 stats_.getwork_requests.load(std::memory_order_relaxed),
                 stats_.getwork_calls.load(std::memory_order_relaxed));
}

int Server::run() {
    boost::system::error_code error;
    // A --bind that is no address is a usage error (2); a port taken is not (1).
    asio::ip::make_address(options_.bind, error);
    if (error) {
        spdlog::error("--bind {}: {}", options_.bind, error.message());
        return 2;
    }
    if (!listen(Door::stratum, options_.port)) return 1;
    if (getwork_ && !listen(Door::getwork, options_.getwork_port)) return 1;
    if (!start_admin()) return 1;

    std::promise<int> signalled;
    asio::signal_set signals(io_threads_.main(), SIGINT, SIGTERM);
    signals.async_wait([&signalled](const boost::system::error_code& e, int signal) {
        if (!e) signalled.set_value(signal);
    });

    redis_.start();
    if (options_.verify_on == Options::VerifyOn::io && !verify_inline_) {
        spdlog::warn("--verify-on io: verifier {} serves one caller at a time; verifying in batches instead",
                     verifier_name_);
    }
    if (!verify_inline_) batcher_.start();
    share_store_.start();
    replay_spool_before_accepting();
    last_stats_.at = std::chrono::steady_clock::now();
    schedule_stats();
    asio::dispatch(io_threads_.main(), [this] {
        do_accept(Door::stratum);
        if (getwork_) do_accept(Door::getwork);
    });
    {
        // The one line that says what this process is: an operator (or a log search) finds
        // every setting that shapes its behaviour here. The lines after it add detail.
        const auto host_port = [](const std::string& host, std::uint16_t port) {
            return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
        };
        // A description that starts with the name ("cpu-avx2 (2 threads)") says both.
        const std::string description = verifier_.description();
        const std::string verifier = description.starts_with(verifier_.name())
                                         ? description
                                         : std::string(verifier_.name()) + " (" + description + ")";
        spdlog::info(
            "sharegate {} started: verifier {}; stratum {}; getwork {}; admin {}; redis {} (share claims live {} s); "
            "spool {}; pool {}; {} I/O threads; {}",
            SHAREGATE_VERSION, verifier, host_port(options_.bind, options_.port),
            getwork_ ? host_port(options_.bind, options_.getwork_port) : "off",
            options_.admin_enabled ? host_port(options_.admin_host, options_.admin_port) : "off",
            host_port(options_.redis.host, options_.redis.port), options_.redis.claim_ttl.count(),
            spool_ ? options_.spool_dir : "off", options_.pool.checksummed(), options_.threads,
            verify_inline_ ? "verified on the I/O threads, each read's submits together"
                           : fmt::format("verified in batches of up to {} shares or {} us", options_.batch_size,
                                         options_.batch_window.count()));
    }
    if (getwork_) {
        spdlog::info("getwork (HTTP JSON-RPC) on {}:{}; bodies up to {} bytes, batches up to {} calls", options_.bind,
                     options_.getwork_port, options_.getwork_max_body_bytes, options_.getwork_max_batch);
    }
    {
        const Admission::Limits limits = admission_limits(options_);
        std::string allow;
        for (const Cidr& range : limits.allow) allow += (allow.empty() ? "" : ", ") + range.to_string();
        spdlog::info("connections: at most {} per address{}, {} in all; a valid subscribe within {} s",
                     limits.per_address, allow.empty() ? "" : " (not capped: " + allow + ")", limits.total,
                     options_.subscribe_timeout_s);
    }

    io_threads_.start();

    int signal = signalled.get_future().get();
    spdlog::info("signal {}: shutting down", signal);
    stopping_.store(true, std::memory_order_relaxed);
    shutdown();
    io_threads_.stop();
    log_stats();
    log_totals();
    spdlog::info("stopped");
    return 0;
}

// The admin endpoint (--admin-listen): false, with the reason logged, when it cannot listen
// (a port taken is a start-up failure, like the stratum port's: a server Prometheus cannot
// see is not one an operator would want to run by accident).
bool Server::start_admin() {
    if (!options_.admin_enabled) return true;
    AdminPages pages;
    pages.metrics = [this] { return AdminResponse{200, {}, metrics_page(), {}}; };
    pages.healthz = [] { return AdminResponse{200, {}, "ok\n", {}}; };
    pages.readyz = [this] {
        const Readiness ready = readiness();
        if (ready.ready) return AdminResponse{200, {}, "ready\n", {}};
        std::string body;
        for (const std::string& reason : ready.reasons) body += "not ready: " + reason + "\n";
        return AdminResponse{503, {}, std::move(body), {}};
    };
    admin_ = std::make_unique<AdminEndpoint>(
        io_threads_.main(),
        [pages](std::string_view method, std::string_view target) { return route_admin(method, target, pages); });
    const std::string why = admin_->listen(options_.admin_host, options_.admin_port);
    if (!why.empty()) {
        spdlog::error("admin endpoint: {} (--admin-listen; off turns it off)", why);
        return false;
    }
    spdlog::info("admin endpoint on http://{}:{} (/metrics, /healthz, /readyz)", options_.admin_host, admin_->port());
    return true;
}

// Shares spooled by an earlier run (Redis was down, or the process was killed) reach Redis
// before new miners are served, for up to kReplayWait; past it miners are accepted and the
// replay goes on behind them (their shares queue behind the spool's, in order).
void Server::replay_spool_before_accepting() {
    if (!spool_) return;
    constexpr auto kReplayWait = std::chrono::seconds(30);
    const auto waiting = spool_->stats().records_waiting;
    if (waiting == 0) return;
    spdlog::info("spool: replaying {} shares into Redis before accepting miners", waiting);
    const auto until = std::chrono::steady_clock::now() + kReplayWait;
    while (share_store_.backlog() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (share_store_.backlog()) {
        spdlog::warn("spool: {} shares still to replay after {} s (Redis {}); accepting miners meanwhile",
                     spool_->stats().records_waiting, kReplayWait.count(), redis_.connected() ? "slow" : "unreachable");
    } else {
        spdlog::info("spool: replayed {} shares", waiting);
    }
}

void Server::shutdown() {
    // 1. Stop accepting, and stop every session from reading new requests.
    std::promise<void> closed;
    asio::post(io_threads_.main(), [this, &closed] {
        boost::system::error_code ignored;
        for (Listener* l : {&stratum_listener_, &getwork_listener_}) {
            l->acceptor.close(ignored);
            l->retry_timer.cancel();
        }
        closed.set_value();
    });
    closed.get_future().wait();
    // Getwork connections read nothing more; each closes once its answers are written.
    if (getwork_) getwork_->close_all();
    auto all = sessions();
    {
        // Shared: a session that acknowledges after the wait timed out must find it alive.
        struct Countdown {
            std::mutex mutex;
            std::condition_variable cv;
            std::size_t left;
        };
        auto countdown = std::make_shared<Countdown>();
        countdown->left = all.size();
        for (auto& session : all) {
            session->post_drain([countdown] {
                std::lock_guard lock(countdown->mutex);
                if (--countdown->left == 0) countdown->cv.notify_all();
            });
        }
        std::unique_lock lock(countdown->mutex);
        countdown->cv.wait_for(lock, std::chrono::seconds(5), [&] { return countdown->left == 0; });
    }
    // 2. Verify what is waiting; accepted shares go to Redis.
    batcher_.stop();
    inline_verifier_.stop();
    // 3. What Redis has not taken within its bound goes to the spool; wait for Redis to
    // acknowledge the rest (their answers are posted to the sessions).
    share_store_.stop();
    redis_.stop();
    if (spool_) spool_->close();  // every spooled share durable (and answered) before exit
    // 4. Let the sessions write their last answers; each closes once all are written.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(sessions_mutex_);
            if (sessions_.empty() && (!getwork_ || getwork_->open() == 0)) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& session : sessions()) session->post_close();
    // The admin endpoint answered /readyz "shutting down" while the rest drained.
    if (admin_) admin_->stop();
    asio::post(io_threads_.main(), [this] { stats_timer_.cancel(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace sharegate::server
