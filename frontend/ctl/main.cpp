// sharegate-ctl: the operator's tool for the pool-wide bans every sharegate instance on
// one Redis enforces (docs/protocol.md section 4, "Bans"): list them, ban an address,
// lift a ban. Bad usage exits 2 with one line, like every sharegate binary; Redis out of
// reach, or a lift with no ban to lift, exits 1 with one line.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_line.hpp"
#include "ctl/ban_commands.hpp"
#include "redis/connection.hpp"
#include "redis/redis_store.hpp"
#include "server/admission.hpp"

namespace {

using namespace sharegate;

constexpr const char* kDescription =
    "Lists, sets and lifts the pool-wide bans that every sharegate instance on the same Redis\n"
    "enforces (keys sharegate:ban:ADDRESS, channel sharegate:bans).";
constexpr auto kTimeout = std::chrono::seconds(5);
// Ten years: longer is a typo, or a firewall's job.
constexpr std::int64_t kMaxBanSeconds = 315'360'000;

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Who wrote a ban, for the listing and the instances' logs: this tool on this host.
std::string this_tool() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "sharegate-ctl";
    return std::string("sharegate-ctl@") + host;
}

// ADDRESS in its canonical text, the one the key is named by ("::FFFF:10.0.0.1" is
// 10.0.0.1); a refusal otherwise.
std::string canonical_address(const std::string& text) {
    const auto address = server::IpAddress::parse(text);
    if (!address) throw cli::bad_value("ADDRESS", "expects an IPv4 or IPv6 address (got \"" + text + "\")");
    return address->to_string();
}

}  // namespace

int main(int argc, char** argv) {
    redis::Endpoint endpoint;
    std::string address;
    std::int64_t seconds = 0;
    std::string reason = "banned by an operator";

    cli::CommandLine command_line(
        "sharegate-ctl", "[--redis HOST:PORT] bans | lift ADDRESS | ban ADDRESS SECONDS [--reason TEXT]", kDescription);
    CLI::App& app = command_line.app();
    app.add_option_function<std::string>(
           "--redis",
           [&](const std::string& value) {
               auto parsed = redis::Endpoint::parse(value);
               if (!parsed) throw cli::bad_value("--redis", "expects HOST:PORT (got \"" + value + "\")");
               endpoint = *parsed;
           },
           "the Redis the sharegate instances share (127.0.0.1:6379)")
        ->type_name("HOST:PORT");
    // --redis may come after the command too.
    app.fallthrough();
    app.require_subcommand(0, 1);  // none is refused below, in words that name the commands
    CLI::App* bans = app.add_subcommand("bans", "list the active bans: address, seconds left, offence, reason, by");
    CLI::App* lift = app.add_subcommand("lift", "lift ADDRESS's ban (exit 1 when it has none)");
    lift->add_option_function<std::string>(
            "ADDRESS", [&](const std::string& value) { address = canonical_address(value); }, "IPv4 or IPv6 address")
        ->required();
    CLI::App* ban = app.add_subcommand("ban", "ban ADDRESS for SECONDS on every instance");
    ban->add_option_function<std::string>(
           "ADDRESS", [&](const std::string& value) { address = canonical_address(value); }, "IPv4 or IPv6 address")
        ->required();
    ban->add_option("SECONDS", seconds, "how long, 1.." + std::to_string(kMaxBanSeconds))
        ->required()
        ->check(cli::integer_in<std::int64_t>(1, kMaxBanSeconds));
    // CLI11's own usage line ("sharegate-ctl ban [OPTIONS] ADDRESS SECONDS") for a
    // command's --help, rather than the program's synopsis.
    for (CLI::App* command : {bans, lift, ban}) command->formatter(std::make_shared<CLI::Formatter>());
    ban->add_option("--reason", reason, "why, for the listing and the instances' logs")->type_name("TEXT");

    app.callback([&] {
        if (app.get_subcommands().empty())
            throw cli::Refusal("expects a command: bans, lift ADDRESS or ban ADDRESS SECONDS (see --help)");
    });

    const cli::Outcome outcome = command_line.parse(argc, argv);
    if (outcome.action != cli::Outcome::Action::run) return command_line.report(outcome);

    redis::block_sigpipe();
    redis::Context c(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, redis::to_timeval(kTimeout)));
    if (!c || c->err != 0) {
        std::fprintf(stderr, "sharegate-ctl: cannot reach Redis at %s:%u: %s\n", endpoint.host.c_str(),
                     static_cast<unsigned>(endpoint.port), c ? c->errstr : "out of memory");
        return 1;
    }
    redisSetTimeout(c.get(), redis::to_timeval(kTimeout));

    if (bans->parsed()) return ctl::list_bans(c.get(), unix_ms_now());
    if (lift->parsed()) return ctl::lift_ban(c.get(), address, this_tool());
    return ctl::ban(c.get(), address, seconds, reason, this_tool(), unix_ms_now());
}
