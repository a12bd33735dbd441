// sharegate: the stratum server. Exit codes: 0 after a clean shutdown, 1 when it cannot
// start (no verifier, port taken), 2 for a bad option.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "server/log_format.hpp"
#include "server/options.hpp"
#include "server/server.hpp"
#include "sharegate/failover_verifier.hpp"
#include "spool/spool.hpp"

namespace {

// Each connection is a file descriptor: the soft limit (often 1024) goes up to the hard
// one, and the total connection cap is derived from what it reached (server/admission.hpp).
void raise_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        spdlog::warn("file limit: cannot read it; the connection cap assumes 1048576");
        return;
    }
    const rlim_t before = limit.rlim_cur;
    // An unlimited hard limit is still bounded by the kernel's nr_open (1048576 by default).
    const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
    if (before != RLIM_INFINITY && before < wanted) {
        limit.rlim_cur = wanted;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            spdlog::warn("file limit: stays at {} (raising it to {} failed)", before, wanted);
            return;
        }
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    spdlog::info("file limit: {} open files (was {})", static_cast<std::uint64_t>(limit.rlim_cur),
                 static_cast<std::uint64_t>(before));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sharegate;
    server::ParseResult parsed = server::parse_options(argc, argv);
    if (parsed.action == server::ParseResult::Action::exit_ok) {
        std::fputs(parsed.message.c_str(), stdout);
        return 0;
    }
    if (parsed.action == server::ParseResult::Action::error) {
        std::fprintf(stderr, "sharegate: %s\n", parsed.message.c_str());
        return 2;
    }
    const server::Options& options = parsed.options;
    server::configure_logging(options.log_level, options.log_format);
    // From here a start-up failure is a log line: with --log-format json every line of the
    // output is JSON, so a shipper reads why it stopped too.
    const auto start_failure = [&options](const std::string& why) {
        if (options.log_format == server::LogFormat::json)
            spdlog::critical("{}", why);
        else
            std::fprintf(stderr, "sharegate: %s\n", why.c_str());
    };
    raise_file_limit();

    VerifierOptions verifier_options;
    verifier_options.threads = options.verifier_threads;
    verifier_options.opencl_platform = options.opencl_platform;
    verifier_options.opencl_device = options.opencl_device;
    VerifierResult made = make_verifier(options.verifier, verifier_options);
    if (!made) {
        start_failure(made.error);
        return 1;
    }
    if (!made.note.empty()) spdlog::info("verifier auto passed over: {}", made.note);
    std::unique_ptr<Verifier> verifier = std::move(made.verifier);
    // A GPU can be lost at run time; the CPU then takes over rather than the pool
    // refusing shares.
    if (!verifier->name().starts_with("cpu")) {
        VerifierResult cpu = make_verifier("cpu", verifier_options);
        if (cpu) {
            verifier = std::make_unique<FailoverVerifier>(
                std::move(verifier), std::move(cpu.verifier),
                [](const std::string& message) { spdlog::error("verifier: {}", message); });
        } else {
            spdlog::warn("verifier: no CPU fallback for {} ({})", verifier->name(), cpu.error);
        }
    }
    spdlog::info("verifier {}: {}", verifier->name(), verifier->description());

    // Before any miner is served: a spool that cannot be written stops the start here.
    std::unique_ptr<spool::Spool> spool;
    if (!options.spool_dir.empty()) {
        spool::Options spool_options;
        spool_options.max_bytes = options.spool_max_bytes;
        spool_options.sync = options.spool_fsync ? spool::Options::Sync::every_group : spool::Options::Sync::none;
        spool_options.log = [](spool::Severity severity, const std::string& message) {
            spdlog::log(severity == spool::Severity::error ? spdlog::level::err : spdlog::level::warn, "{}", message);
        };
        auto opened = spool::Spool::open(options.spool_dir, spool_options);
        if (auto* why = std::get_if<std::string>(&opened)) {
            start_failure("spool: " + *why);
            return 1;
        }
        spool = std::move(std::get<std::unique_ptr<spool::Spool>>(opened));
        const spool::Stats stats = spool->stats();
        spdlog::info("spool: {} ({} shares waiting, bound {} bytes, fsync {})", options.spool_dir,
                     stats.records_waiting, options.spool_max_bytes, options.spool_fsync ? "per group" : "none");
    } else {
        spdlog::warn("spool: off (--spool-dir off): while Redis is down, miners wait for their answers");
    }
    server::Server server(options, *verifier, std::move(spool));
    return server.run();
}
