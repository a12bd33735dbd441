#include "proxy/farm_stats.hpp"

#include <algorithm>
#include <numeric>

#include "metrics/exposition.hpp"
#include "protocol/stratum.hpp"

namespace sharegate::proxy {

namespace {

constexpr std::size_t kReasons = static_cast<std::size_t>(RejectReason::count);

constexpr std::array<std::string_view, kReasons> kLabels = {
    "stale",          "bad_params",     "no_work",        "not_forwarded",   "pool_stale",      "duplicate",
    "low_difficulty", "target_not_met", "invalid_digest", "pool_bad_params", "invalid_account", "not_stored",
    "pool_busy",      "rate_limited",   "not_subscribed", "pool_other",
};

void add_into(RigCounts& sum, const RigCounts& counts) {
    sum.submitted += counts.submitted;
    sum.accepted += counts.accepted;
    for (std::size_t i = 0; i < kReasons; ++i) sum.rejected[i] += counts.rejected[i];
}

}  // namespace

std::string_view to_label(RejectReason reason) {
    const auto index = static_cast<std::size_t>(reason);
    return index < kReasons ? kLabels[index] : std::string_view("unknown");
}

RejectReason reason_for_pool_error(int code, std::string_view message) {
    namespace errors = protocol::errors;
    struct Known {
        const protocol::StratumError& error;
        RejectReason reason;
    };
    // The texts of the protocol's table: sharegate's and the original's are the same, and
    // code 20 alone says nothing (five refusals share it).
    static const Known kKnown[] = {
        {errors::kWrongChallenge, RejectReason::pool_stale},
        {errors::kDuplicateShare, RejectReason::duplicate},
        {errors::kLowDifficulty, RejectReason::low_difficulty},
        {errors::kTargetNotMet, RejectReason::target_not_met},
        {errors::kInvalidDigest, RejectReason::invalid_digest},
        {errors::kInvalidShareParameters, RejectReason::pool_bad_params},
        {errors::kInvalidAccount, RejectReason::invalid_account},
        {errors::kShareNotStored, RejectReason::not_stored},
        {errors::kServerBusy, RejectReason::pool_busy},
        {errors::kRateLimited, RejectReason::rate_limited},
        {errors::kNotSubscribed, RejectReason::not_subscribed},
    };
    for (const Known& known : kKnown) {
        if (known.error.code == code && known.error.message == message) return known.reason;
    }
    // Another pool's wording: the codes of stratum's usual table that name one thing.
    switch (code) {
        case 21: return RejectReason::pool_stale;
        case 22: return RejectReason::duplicate;
        case 23: return RejectReason::low_difficulty;
        case 25: return RejectReason::not_subscribed;
        default: return RejectReason::pool_other;
    }
}

std::uint64_t RigCounts::rejected_total() const {
    return std::accumulate(rejected.begin(), rejected.end(), std::uint64_t{0});
}

FarmStats::FarmStats(std::size_t max_rigs) : max_rigs_(std::max<std::size_t>(max_rigs, 1)) {}

RigCounts& FarmStats::rig_locked(std::string_view rig) {
    if (auto found = rigs_.find(rig); found != rigs_.end()) return found->second;
    // "other" itself does not count against the bound: it is where the rest go.
    std::size_t named = rigs_.size() - (rigs_.contains(kOtherRig) ? 1 : 0);
    if (named >= max_rigs_) return rigs_[std::string(kOtherRig)];
    return rigs_.emplace(std::string(rig), RigCounts{}).first->second;
}

void FarmStats::submitted(std::string_view rig) {
    std::lock_guard lock(mutex_);
    ++rig_locked(rig).submitted;
}

void FarmStats::accepted(std::string_view rig) {
    std::lock_guard lock(mutex_);
    ++rig_locked(rig).accepted;
}

void FarmStats::rejected(std::string_view rig, RejectReason reason) {
    const auto index = static_cast<std::size_t>(reason);
    if (index >= kReasons) return;
    std::lock_guard lock(mutex_);
    ++rig_locked(rig).rejected[index];
}

FarmSnapshot FarmStats::snapshot() const {
    FarmSnapshot snapshot;
    {
        std::lock_guard lock(mutex_);
        snapshot.rigs.assign(rigs_.begin(), rigs_.end());
    }
    for (const auto& [name, counts] : snapshot.rigs) add_into(snapshot.total, counts);
    std::stable_sort(snapshot.rigs.begin(), snapshot.rigs.end(), [](const auto& a, const auto& b) {
        return a.second.submitted > b.second.submitted;  // the map gave them in name order
    });
    return snapshot;
}

std::string FarmStats::summary(std::size_t top_rigs) const {
    const FarmSnapshot snapshot = this->snapshot();
    const RigCounts& total = snapshot.total;
    std::string line = "rigs " + std::to_string(snapshot.rigs.size()) + " submitted " +
                       std::to_string(total.submitted) + " accepted " + std::to_string(total.accepted) + " rejected " +
                       std::to_string(total.rejected_total());
    if (total.rejected_total() != 0) {
        line += " (";
        bool first = true;
        for (std::size_t i = 0; i < kReasons; ++i) {
            if (total.rejected[i] == 0) continue;
            if (!first) line += ", ";
            first = false;
            line += kLabels[i];
            line += ' ';
            line += std::to_string(total.rejected[i]);
        }
        line += ')';
    }
    if (top_rigs != 0 && !snapshot.rigs.empty()) {
        // submitted/accepted/rejected per rig, the busiest first.
        line += " top:";
        const std::size_t shown = std::min(top_rigs, snapshot.rigs.size());
        for (std::size_t i = 0; i < shown; ++i) {
            const auto& [name, counts] = snapshot.rigs[i];
            line += i == 0 ? " " : ", ";
            line += name + ' ' + std::to_string(counts.submitted) + '/' + std::to_string(counts.accepted) + '/' +
                    std::to_string(counts.rejected_total());
        }
    }
    return line;
}

std::vector<prometheus::MetricFamily> FarmStats::families() const {
    const FarmSnapshot snapshot = this->snapshot();
    auto submits = metrics::FamilyBuilder::counter("sharegate_proxy_rig_submits_total",
                                                   "submitShare calls received from each rig (client address).");
    auto accepted = metrics::FamilyBuilder::counter("sharegate_proxy_rig_accepted_total",
                                                    "Shares of each rig the pool accepted (answered true).");
    auto rejected = metrics::FamilyBuilder::counter(
        "sharegate_proxy_rig_rejected_total",
        "Shares of each rig answered false, by reason (refused by the proxy, or by the pool).");
    for (const auto& [name, counts] : snapshot.rigs) {
        submits.add({{"rig", name}}, static_cast<double>(counts.submitted));
        accepted.add({{"rig", name}}, static_cast<double>(counts.accepted));
        for (std::size_t i = 0; i < kReasons; ++i) {
            if (counts.rejected[i] == 0) continue;
            rejected.add({{"rig", name}, {"reason", std::string(kLabels[i])}}, static_cast<double>(counts.rejected[i]));
        }
    }
    std::vector<prometheus::MetricFamily> families;
    families.push_back(metrics::gauge("sharegate_proxy_rigs",
                                      "Rigs (client addresses) seen submitting, \"other\" included.",
                                      static_cast<double>(snapshot.rigs.size())));
    families.push_back(std::move(submits).build());
    families.push_back(std::move(accepted).build());
    families.push_back(std::move(rejected).build());
    return families;
}

}  // namespace sharegate::proxy
