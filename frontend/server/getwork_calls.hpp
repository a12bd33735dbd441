// What each getwork JSON-RPC call gets: the queries answered from the pool's state and
// the miners' varDiffs, and submitShare through the same ShareIntake as mining.submit
// (the same checks in the same order, the same duplicate filter, batches, verifier and
// store), answered true or false as the original does. It never sees a socket: the door
// (server/getwork_door.hpp) hands it a body and a way to answer, and it answers once every
// call of the body has its answer (a submit only after verification and storage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "protocol/getwork.hpp"
#include "server/admission.hpp"
#include "server/ban_book.hpp"
#include "server/token_bucket.hpp"

namespace sharegate::server {

class Server;
class VarDiffCache;

// One getwork connection's state, for the defenses: its submit rate limit and its recent
// record (load shedding prefers a connection that has been sending valid shares). The
// parser is used on the connection's strand only; the rest under the mutex, since answers
// come back on the verifier's and the store's threads.
struct GetworkClient {
    GetworkClient(IpAddress peer, bool exempt, std::string remote, double rate, double burst);

    const IpAddress peer;
    const bool exempt;  // allow-listed: never rate-limited, never recorded for bans
    const std::string remote;
    protocol::getwork::Parser parser;

    std::mutex mutex;
    TokenBucket submit_tokens;
    bool rate_limit_logged = false;
    std::uint64_t recent_invalid_bits = 0;  // the last 64 answered submits, 1 = invalid
    unsigned recent_answers = 0;
    std::size_t in_flight = 0;  // submits awaiting their verdict
};

class GetworkCalls {
public:
    GetworkCalls(Server& server, VarDiffCache& var_diffs);

    // One HTTP body: `respond` gets the whole answer once (empty: nothing to answer, every
    // call a notification), from this thread or a later one.
    void handle(const std::shared_ptr<GetworkClient>& client, std::string_view body,
                std::function<void(std::string)> respond);

private:
    struct Exchange;  // one body's calls and their answers, until the last comes
    void run(const std::shared_ptr<GetworkClient>& client, const std::shared_ptr<Exchange>& exchange,
             const protocol::getwork::Call& call);
    void submit(const std::shared_ptr<GetworkClient>& client, const std::shared_ptr<Exchange>& exchange,
                const protocol::getwork::Call& call);
    // The answer of one submit, for the defenses: the client's record and the ban book.
    void note_answer(GetworkClient& client, Conduct conduct);

    Server& server_;
    VarDiffCache& var_diffs_;
};

}  // namespace sharegate::server
