// The command line of every sharegate binary, on CLI11: --help and --version (exit 0,
// text on stdout), --config FILE with `name = value` lines under the command line, and
// every refusal as the one line "PROGRAM: reason" with exit status 2. Each binary adds
// its own options to app(); the validators here word their refusals alike everywhere.
// The hidden --print-options=markdown|config (exit 0) prints the binary's option table
// as a markdown table or as a commented config file (option_reference.hpp): the
// documentation and deploy/sharegate.conf are generated from it.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sharegate::cli {

// How a parse ended.
struct Outcome {
    enum class Action { run, exit_ok, error };
    Action action = Action::run;
    std::string message;  // the help or version text for exit_ok, the one-line reason for error
};

// A refusal worded as its whole reason line, for checks of one option against another
// (thrown from app().callback()) and for option callbacks whose reason names no option.
class Refusal : public CLI::ParseError {
public:
    explicit Refusal(std::string reason);
};

// A refused value: "--name: reason". Thrown from option callbacks; a value read from the
// config file gets the file's name in front.
CLI::ValidationError bad_value(const std::string& option, const std::string& reason);

class CommandLine {
public:
    // `synopsis` follows the program's name on the usage line, e.g. "--target HOST:PORT [options]".
    CommandLine(std::string program, std::string synopsis, std::string description);
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    CLI::App& app() { return app_; }
    const std::string& program() const { return program_; }

    // Parses argv; CLI11's own errors, the options' refusals and app().callback()'s come
    // back as one line without the program's name.
    Outcome parse(int argc, const char* const* argv);

    // What a binary does with an outcome that is not `run`: the text on stdout, or
    // "PROGRAM: reason" on stderr. Returns the exit status (0 or 2).
    int report(const Outcome& outcome) const;

    struct ConfigState;  // the config file being applied, shared with the reader

private:
    void add_common_options();
    std::string option_reference(const std::string& format);

    std::string program_;
    CLI::App app_;
    std::shared_ptr<ConfigState> config_state_;
    CLI::Option* print_options_ = nullptr;
};

// "a|b|c", the form refusals and help texts list choices in.
std::string join(const std::vector<std::string>& items, std::string_view separator = "|");

// The whole text as a base-10 integer in [min, max], or nothing.
template <typename T>
std::optional<T> parse_integer(std::string_view text, T min, T max) {
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        return std::nullopt;
    return value;
}

std::string integer_reason(const std::string& min, const std::string& max);

// Accepts a base-10 integer in [min, max]: "expects an integer from MIN to MAX".
template <typename T>
CLI::Validator integer_in(T min, T max = std::numeric_limits<T>::max()) {
    return CLI::Validator(
        [min, max](std::string& value) -> std::string {
            if (parse_integer<T>(value, min, max)) return {};
            return integer_reason(std::to_string(min), std::to_string(max)) + " (got \"" + value + "\")";
        },
        "");
}

// Accepts a finite number of at least `min`: "expects a number of at least MIN".
CLI::Validator number_at_least(double min);

// Accepts exactly one of `choices`: "expects one of a|b|c".
CLI::Validator one_of(std::vector<std::string> choices);

}  // namespace sharegate::cli
