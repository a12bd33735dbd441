// sharegate: the stratum server. Exit codes: 0 after a clean shutdown, 1 when it cannot
// start (no verifier, port taken), 2 for a bad option.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "server/options.hpp"
#include "server/server.hpp"
#include "sharegate/failover_verifier.hpp"

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
    spdlog::set_level(spdlog::level::from_str(options.log_level));

    VerifierOptions verifier_options;
    verifier_options.threads = options.verifier_threads;
    verifier_options.opencl_platform = options.opencl_platform;
    verifier_options.opencl_device = options.opencl_device;
    VerifierResult made = make_verifier(options.verifier, verifier_options);
    if (!made) {
        std::fprintf(stderr, "sharegate: %s\n", made.error.c_str());
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

    server::Server server(options, *verifier);
    return server.run();
}
