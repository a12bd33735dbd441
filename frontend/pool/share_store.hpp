// Where ShareIntake stores an accepted share for the pool's back-end: Redis's
// queued_shares_list in the server (server/durable_share_store.hpp), a fake in tests.
#pragma once

#include <functional>
#include <string>

namespace sharegate::pool {

// What became of a push.
enum class StoreResult {
    stored,      // the back-end has it (or a spool holds it for the back-end)
    duplicate,   // another instance of the pool (or an earlier push) had claimed the share: not stored again
    not_stored,  // it never will be
};

class ShareStore {
public:
    virtual ~ShareStore() = default;
    // Stores one share's queued_shares_list line (protocol::queued_share_json) unless the
    // share is claimed already, pool-wide. done is called exactly once, on any thread.
    // `key` names the share (share_key: its challenge and nonce): a store shared by many
    // instances, or that may deliver a share twice (a retry, a replay), uses it to deliver
    // it once.
    virtual void push(std::string key, std::string queued_share_json, std::function<void(StoreResult)> done) = 0;
};

}  // namespace sharegate::pool
