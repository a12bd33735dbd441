#include "cli/command_line.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <utility>

#include "cli/option_reference.hpp"

namespace sharegate::cli {

// The config file whose values are being applied: from when its first line is read to
// the end of the parse. Every option's callback runs as its value is parsed (see
// parse()), so a value refused in that span came from the file.
struct CommandLine::ConfigState {
    std::string applying;
};

namespace {

// The usage line first, then the description; CLI11 prints them the other way round.
class UsageFormatter : public CLI::Formatter {
public:
    explicit UsageFormatter(std::string synopsis) : synopsis_(std::move(synopsis)) { column_width(30); }

    std::string make_description(const CLI::App*) const override { return {}; }

    std::string make_usage(const CLI::App* app, std::string name) const override {
        std::string text = "Usage: " + name + " " + synopsis_ + "\n";
        if (!app->get_description().empty()) text += "\n" + app->get_description() + "\n";
        return text;
    }

private:
    std::string synopsis_;
};

// `name = value` lines, '#' starting a comment, each value taken whole: CLI11's TOML
// reader would split "valid=40,stale=60" (--workload) or "a b" into arrays, and would
// pass over names it does not know, where a typo must stop the start instead.
class NameValueConfig : public CLI::ConfigBase {
public:
    NameValueConfig(const CLI::App& app, std::shared_ptr<CommandLine::ConfigState> state)
        : app_(app), state_(std::move(state)) {
        // Bounds and a separator no text line holds: no value is ever an array.
        arrayBounds('\x01', '\x01');
        arrayDelimiter('\x01');
    }

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        std::vector<CLI::ConfigItem> items = ConfigBase::from_config(input);
        const std::string path = app_.get_config_ptr()->as<std::string>();
        for (const CLI::ConfigItem& item : items) {
            // Section markers ("[name]" lines) come as the names "++" and "--", or as parents.
            if (!item.parents.empty() || item.name == "++" || item.name == "--")
                throw Refusal(path + ": expected `name = value` lines, not sections");
            const CLI::Option* option = app_.get_option_no_throw("--" + item.name);
            if (option == nullptr) throw Refusal(path + ": unknown option --" + item.name);
            if (option == app_.get_config_ptr()) throw Refusal(path + ": config files do not nest");
            if (!option->get_configurable()) throw Refusal(path + ": --" + item.name + " is for the command line");
        }
        state_->applying = path;
        return items;
    }

private:
    const CLI::App& app_;
    std::shared_ptr<CommandLine::ConfigState> state_;
};

std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

// "--depth: 1 required N missing" (CLI11's wording) names the option before the colon.
std::string missing_value_reason(const std::string& message) {
    const auto colon = message.find(':');
    if (colon == std::string::npos || !message.ends_with(" missing")) return message;
    return message.substr(0, colon) + " needs a value";
}

// The first argument CLI11 could not place: an unknown option, or a word where no
// positional argument is taken.
std::string extras_reason(const std::vector<std::string>& remaining) {
    if (remaining.empty()) return "unexpected arguments (see --help)";
    const std::string& first = remaining.front();
    if (first.starts_with("-")) return "unknown option " + first.substr(0, first.find('=')) + " (see --help)";
    return "unexpected argument \"" + first + "\" (see --help)";
}

// Thrown by --print-options as it is parsed, ahead of every other check (like --version).
class PrintOptionsRequest : public CLI::ParseError {
public:
    explicit PrintOptionsRequest(std::string format)
        : CLI::ParseError("PrintOptionsRequest", "print options", CLI::ExitCodes::Success),
          format_(std::move(format)) {}
    const std::string& format() const { return format_; }

private:
    std::string format_;
};

std::string one_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    for (char& c : text) {
        if (c == '\n') c = ' ';
    }
    return text;
}

}  // namespace

Refusal::Refusal(std::string reason) : CLI::ParseError("Refusal", std::move(reason), CLI::ExitCodes::ValidationError) {}

CLI::ValidationError bad_value(const std::string& option, const std::string& reason) {
    return CLI::ValidationError(option, reason);
}

CommandLine::CommandLine(std::string program, std::string synopsis, std::string description)
    : program_(std::move(program)),
      app_(std::move(description), program_),
      config_state_(std::make_shared<ConfigState>()) {
    app_.formatter(std::make_shared<UsageFormatter>(std::move(synopsis)));
    // Added again by parse(), after the binary's own, so that --help lists them last.
    app_.set_help_flag();
    app_.config_formatter(std::make_shared<NameValueConfig>(app_, config_state_));
    // As before CLI11: an option given twice takes the later value.
    app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

void CommandLine::add_common_options() {
    app_.set_config("--config", "",
                    "`name = value` lines with the options above ('#' starts a comment); the command line wins")
        ->type_name("FILE");
    app_.set_help_flag("-h,--help", "print this help and exit");
    app_.set_version_flag("--version", program_ + " " + SHAREGATE_VERSION,
                          "print \"" + program_ + " VERSION\" and exit");
    // Hidden (group ""): for the documentation's generator, not for operators. Not
    // configurable: a config file that printed instead of running would be a trap.
    print_options_ =
        app_.add_option_function<std::string>(
                "--print-options",
                [](const std::string& format) {
                    if (format != "markdown" && format != "config")
                        throw bad_value("--print-options", "expects one of markdown|config (got \"" + format + "\")");
                    throw PrintOptionsRequest(format);
                },
                "print the option table as markdown or as a commented config file, and exit")
            ->group("")
            ->configurable(false);
}

std::string CommandLine::option_reference(const std::string& format) {
    const std::vector<OptionEntry> entries =
        option_entries(app_, {app_.get_help_ptr(), app_.get_version_ptr(), app_.get_config_ptr(), print_options_});
    return format == "markdown" ? markdown_reference(entries) : config_reference(program_, entries);
}

Outcome CommandLine::parse(int argc, const char* const* argv) {
    config_state_->applying.clear();
    if (app_.get_config_ptr() == nullptr) add_common_options();
    // Callbacks run as each value is parsed, the command line's before the file's, so a
    // refusal can say whether the file's value was refused.
    for (CLI::Option* option : app_.get_options()) option->trigger_on_parse();
    const auto error = [](std::string reason) { return Outcome{Outcome::Action::error, one_line(std::move(reason))}; };
    try {
        app_.parse(argc, argv);
        return {};
    } catch (const CLI::CallForHelp&) {
        return {Outcome::Action::exit_ok, app_.help()};
    } catch (const CLI::CallForVersion& version) {
        return {Outcome::Action::exit_ok, std::string(version.what()) + "\n"};
    } catch (const PrintOptionsRequest& request) {
        return {Outcome::Action::exit_ok, option_reference(request.format())};
    } catch (const Refusal& refusal) {
        return error(refusal.what());
    } catch (const CLI::ExtrasError&) {
        return error(extras_reason(app_.remaining()));
    } catch (const CLI::FileError&) {
        return error("cannot read config file " + app_.get_config_ptr()->as<std::string>());
    } catch (const CLI::ArgumentMismatch& mismatch) {
        return error(missing_value_reason(mismatch.what()));
    } catch (const CLI::ParseError& refused) {
        const std::string& file = config_state_->applying;
        return error(file.empty() ? std::string(refused.what()) : file + ": " + refused.what());
    }
}

int CommandLine::report(const Outcome& outcome) const {
    switch (outcome.action) {
        case Outcome::Action::run: return 0;
        case Outcome::Action::exit_ok: std::fputs(outcome.message.c_str(), stdout); return 0;
        case Outcome::Action::error: break;
    }
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), outcome.message.c_str());
    return 2;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string text;
    for (const auto& item : items) {
        if (!text.empty()) text += separator;
        text += item;
    }
    return text;
}

std::string integer_reason(const std::string& min, const std::string& max) {
    return "expects an integer from " + min + " to " + max;
}

CLI::Validator number_at_least(double min) {
    return CLI::Validator(
        [min](std::string& value) -> std::string {
            char* end = nullptr;
            const double number = value.empty() ? std::nan("") : std::strtod(value.c_str(), &end);
            if (!value.empty() && end == value.c_str() + value.size() && std::isfinite(number) && number >= min)
                return {};
            return "expects a number of at least " + format_number(min) + " (got \"" + value + "\")";
        },
        "");
}

CLI::Validator one_of(std::vector<std::string> choices) {
    return CLI::Validator(
        [choices = std::move(choices)](std::string& value) -> std::string {
            for (const auto& choice : choices) {
                if (value == choice) return {};
            }
            return "expects one of " + join(choices) + " (got \"" + value + "\")";
        },
        "");
}

}  // namespace sharegate::cli
