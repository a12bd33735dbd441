#include "server/getwork_door.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "server/server.hpp"

namespace sharegate::server {

namespace asio = boost::asio;

namespace {

// As a stratum subscribe: the pool minimum at least, the original's default (4000) for a
// miner Redis has not answered for within 2 s; at most --max-tracked-addresses miners.
VarDiffCache::Settings var_diff_settings(const Options& options) {
    VarDiffCache::Settings settings;
    settings.minimum = options.min_share_difficulty;
    settings.when_unknown = redis::kDefaultVarDiff;
    settings.wait = std::chrono::milliseconds(2000);
    settings.max_entries = options.bans.max_addresses;
    return settings;
}

}  // namespace

GetworkDoor::GetworkDoor(Server& server, asio::io_context& io)
    : server_(server),
      var_diffs_(
          io,
          [&server](const std::string& miner, std::function<void(std::optional<std::uint64_t>)> done) {
              server.redis().miner_var_diff(miner, std::move(done));
          },
          var_diff_settings(server.options())),
      calls_(server, var_diffs_) {}

void GetworkDoor::serve(asio::ip::tcp::socket socket, Admission::Slot slot, const IpAddress& peer, std::string remote,
                        std::string received) {
    const Options& options = server_.options();
    auto client = std::make_shared<GetworkClient>(peer, in_any(options.allow, peer), remote,
                                                  static_cast<double>(options.max_submits_per_s),
                                                  static_cast<double>(options.submit_burst));
    HttpLimits limits;
    limits.max_body_bytes = options.getwork_max_body_bytes;
    limits.request_timeout = std::chrono::seconds(options.getwork_request_timeout_s);
    limits.idle_timeout = std::chrono::seconds(options.getwork_idle_timeout_s);

    // Filled once the connection exists; its handlers run only after start().
    auto key = std::make_shared<const HttpConnection*>(nullptr);
    auto held_slot = std::make_shared<Admission::Slot>(std::move(slot));
    HttpHandlers handlers;
    handlers.on_request = [this, client](std::string body, std::function<void(std::string)> respond) {
        calls_.handle(client, body, std::move(respond));
    };
    handlers.on_refusal = [this, client](HttpRefusal refusal) {
        server_.stats().getwork_http_refused[static_cast<std::size_t>(refusal)].fetch_add(1, std::memory_order_relaxed);
        if (refusal == HttpRefusal::method_not_allowed) {
            spdlog::debug("{}: getwork: {}", client->remote, name(refusal));
            return;
        }
        // The others close the connection: one line each, at debug (one client's doing;
        // the stats line counts them).
        spdlog::debug("{}: getwork: closed: {}", client->remote, name(refusal));
        // What a stratum line that is not JSON or too long is: junk, toward a ban. A slow
        // request is not (a poor link looks the same).
        if (refusal != HttpRefusal::request_timeout && !client->exempt) {
            if (auto ban = server_.bans().record(client->peer, Conduct::junk, BanBook::Clock::now()))
                server_.on_ban(*ban);
        }
    };
    handlers.on_closed = [this, key, held_slot] {
        held_slot->release();
        std::lock_guard lock(mutex_);
        if (connections_.erase(*key) != 0)
            server_.stats().getwork_connections_open.fetch_sub(1, std::memory_order_relaxed);
    };
    auto connection =
        std::make_shared<HttpConnection>(std::move(socket), limits, std::move(handlers), std::move(remote));
    *key = connection.get();
    {
        std::lock_guard lock(mutex_);
        connections_.emplace(connection.get(), Entry{connection, peer});
    }
    server_.stats().getwork_connections_open.fetch_add(1, std::memory_order_relaxed);
    server_.stats().getwork_connections_total.fetch_add(1, std::memory_order_relaxed);
    connection->start(std::move(received));
}

std::vector<std::shared_ptr<HttpConnection>> GetworkDoor::connections(const IpAddress* of) {
    std::vector<std::shared_ptr<HttpConnection>> out;
    std::lock_guard lock(mutex_);
    for (auto& [key, entry] : connections_) {
        if (of && !(entry.peer == *of)) continue;
        if (auto connection = entry.connection.lock()) out.push_back(std::move(connection));
    }
    return out;
}

void GetworkDoor::close_connections_of(const IpAddress& address) {
    for (auto& connection : connections(&address)) {
        server_.stats().closed_banned.fetch_add(1, std::memory_order_relaxed);
        connection->post_close();
    }
}

void GetworkDoor::close_all() {
    for (auto& connection : connections()) connection->post_close();
}

std::size_t GetworkDoor::open() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

}  // namespace sharegate::server
