// The option reference of a binary, written from its CLI11 option table so that the
// documentation and the shipped config file cannot drift from the options themselves
// (`--print-options=markdown|config`, see command_line.hpp). Every option of the app in
// definition order, except --help, --version, --config and hidden ones.
//
// A default is read from the help text, where the options write it: the last
// parenthesis of the help's first line, "stratum port (9192)", "(default 7)", "(100; 0:
// no limit)". What that parenthesis holds counts as a default only when it is one word
// (no blank) that is not a remark such as "required" or "repeatable", and that the
// option's own check accepts.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sharegate::cli {

struct OptionEntry {
    std::string name;               // "port": the long name without its dashes, as the config file writes it
    std::string value_name;         // "N", "HOST:PORT"; empty for a switch
    std::vector<std::string> help;  // the help's lines, build-specific remarks left out
    std::optional<std::string> default_value;
    bool required = false;     // the help's parenthesis says "required"
    bool configurable = true;  // may be set in a config file
};

// The options to document, in definition order; `excluded` are left out too.
std::vector<OptionEntry> option_entries(CLI::App& app, const std::vector<const CLI::Option*>& excluded);

// `| option | value | default and meaning |`, one row an option.
std::string markdown_reference(const std::vector<OptionEntry>& entries);

// A config file for `--config`: a header on the `name = value` format, then each
// configurable option's help as comments and its line commented out, at its default
// ("# port = 9192") or with a placeholder ("# threads = <N>").
std::string config_reference(const std::string& program, const std::vector<OptionEntry>& entries);

}  // namespace sharegate::cli
