// Where ShareIntake stores an accepted share for the pool's back-end: Redis's
// queued_shares_list in the server (server/redis_share_store.hpp), a fake in tests.
#pragma once

#include <functional>
#include <string>

namespace sharegate::pool {

class ShareStore {
public:
    virtual ~ShareStore() = default;
    // Stores one share's queued_shares_list line (protocol::queued_share_json). done(true)
    // once it is stored, done(false) when it never will be; called exactly once, on any
    // thread. `key` names the share (share_key): a store that may deliver a share twice
    // (a retry, a replay) uses it to deliver it once.
    virtual void push(std::string key, std::string queued_share_json, std::function<void(bool stored)> done) = 0;
};

}  // namespace sharegate::pool
