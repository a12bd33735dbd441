// The getwork door: the HTTP JSON-RPC port (--getwork-port, docs/protocol.md section 3)
// beside the stratum port, on the same I/O threads and the same share path. The server
// accepts its connections with the same caps, bans and PROXY handling as stratum ones
// (Server::admit); here each becomes an HttpConnection (server/http_connection.hpp: the
// transport and its limits) whose bodies GetworkCalls answers (server/getwork_calls.hpp:
// the pool's rules). The door keeps the list of its connections, to close an address's
// when it is banned and all of them at shutdown, and the getwork miners' varDiffs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/admission.hpp"
#include "server/asio.hpp"
#include "server/getwork_calls.hpp"
#include "server/http_connection.hpp"
#include "server/var_diff_cache.hpp"

namespace sharegate::server {

class Server;

class GetworkDoor {
public:
    // Reads `server`'s options; uses the rest of it only from the first connection on.
    GetworkDoor(Server& server, boost::asio::io_context& io);
    GetworkDoor(const GetworkDoor&) = delete;
    GetworkDoor& operator=(const GetworkDoor&) = delete;

    // One admitted connection; `received` is what was read past a PROXY header.
    void serve(boost::asio::ip::tcp::socket socket, Admission::Slot slot, const IpAddress& peer, std::string remote,
               std::string received);

    // A ban: the address's connections write what they owe and close.
    void close_connections_of(const IpAddress& address);
    // Shutdown: every connection reads nothing more, writes what it owes and closes.
    void close_all();
    std::size_t open() const;

    // The back-end announced a miner's varDiff (PUBLISH varDiff).
    void on_var_diff(const std::string& miner, std::uint64_t var_diff) { var_diffs_.update(miner, var_diff); }

private:
    std::vector<std::shared_ptr<HttpConnection>> connections(const IpAddress* of = nullptr);

    Server& server_;
    VarDiffCache var_diffs_;
    GetworkCalls calls_;

    struct Entry {
        std::weak_ptr<HttpConnection> connection;
        IpAddress peer;
    };
    mutable std::mutex mutex_;
    std::unordered_map<const HttpConnection*, Entry> connections_;
};

}  // namespace sharegate::server
