#include "cli/option_reference.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <utility>

namespace sharegate::cli {

namespace {

// Config comment lines are wrapped at this width, so the file reads in any editor.
constexpr std::size_t kConfigWidth = 88;

// Words that open a help's parenthesis as a remark, not as a value: "(required; ...)",
// "(repeatable; ...)", "(default: the first with a GPU)".
constexpr std::array<std::string_view, 3> kRemarks = {"required", "repeatable", "default"};

bool has_blank(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
    std::vector<std::string_view> pieces;
    for (;;) {
        const auto at = text.find(separator);
        pieces.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return pieces;
        text.remove_prefix(at + separator.size());
    }
}

// "... [not in this build]" at the end of a line describes this binary, not the option:
// left out, so that the reference is the same whichever backends a build has.
std::string without_build_remark(std::string line) {
    while (!line.empty() && line.back() == ']') {
        const auto open = line.rfind(" [");
        if (open == std::string::npos) break;
        line.erase(open);
    }
    return line;
}

std::vector<std::string> help_lines(const std::string& description) {
    std::vector<std::string> lines;
    for (std::string_view line : split(description, "\n")) lines.push_back(without_build_remark(std::string(line)));
    while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
    return lines;
}

// The inside of the last balanced "(...)" of `line`, nested ones included.
std::optional<std::string_view> last_parenthesis(std::string_view line) {
    const auto close = line.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    int depth = 0;
    for (std::size_t at = close + 1; at-- > 0;) {
        if (line[at] == ')') ++depth;
        if (line[at] == '(' && --depth == 0) return line.substr(at + 1, close - at - 1);
    }
    return std::nullopt;
}

// Whether every check of the option accepts `value` (a validator may rewrite its
// argument, hence the copy).
bool checks_accept(CLI::Option& option, const std::string& value) {
    for (int index = 0;; ++index) {
        CLI::Validator* validator = nullptr;
        try {
            validator = option.get_validator(index);
        } catch (const CLI::OptionNotFound&) {
            return true;
        }
        std::string copy = value;
        if (!(*validator)(copy).empty()) return false;
    }
}

struct Parenthesis {
    std::optional<std::string> default_value;
    bool required = false;
};

// "9192", "100; 0: no limit", "default 7", "default auto: the best this CPU has",
// "1..20000, default 64", "required; EIP-55 or one case", "one per hardware thread".
Parenthesis read_parenthesis(CLI::Option& option, std::string_view inside) {
    Parenthesis result;
    std::vector<std::string_view> pieces;
    for (std::string_view part : split(inside, "; ")) {
        for (std::string_view piece : split(part, ", ")) pieces.push_back(trim(piece));
    }
    std::string_view candidate = pieces.front();
    for (std::string_view piece : pieces) {
        if (piece == "required") result.required = true;
        if (piece.starts_with("default ")) candidate = piece.substr(8);
    }
    candidate = trim(candidate.substr(0, candidate.find(": ")));
    const bool remark = std::find(kRemarks.begin(), kRemarks.end(), candidate) != kRemarks.end();
    if (!candidate.empty() && !has_blank(candidate) && !remark && checks_accept(option, std::string(candidate)))
        result.default_value = std::string(candidate);
    return result;
}

// `|` would end a markdown table cell.
std::string table_cell(std::string_view text) {
    std::string cell;
    for (char c : text) {
        if (c == '|') cell += '\\';
        cell += c;
    }
    return cell;
}

// One help line as comment lines of at most kConfigWidth columns. The line's blanks are
// kept where it fits (they align the lists of choices); a continuation of an indented
// line is indented two more, so that a list item reads as one.
void append_comment(std::string& out, const std::string& line) {
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) {
        out += "#\n";
        return;
    }
    std::string first_prefix = "# ";
    first_prefix += std::string_view(line).substr(0, indent);
    const std::string next_prefix = first_prefix + (indent > 0 ? "  " : "");
    std::string current = first_prefix;
    bool empty = true;
    std::string_view rest = std::string_view(line).substr(indent);
    while (!rest.empty()) {
        const std::size_t blanks = std::min(rest.find_first_not_of(' '), rest.size());
        const std::string_view gap = rest.substr(0, blanks);
        rest.remove_prefix(blanks);
        const std::string_view word = rest.substr(0, rest.find(' '));
        rest.remove_prefix(word.size());
        if (word.empty()) break;  // trailing blanks
        if (!empty && current.size() + gap.size() + word.size() > kConfigWidth) {
            out += current + "\n";
            current = next_prefix;
            empty = true;
        }
        if (!empty) current += gap;
        current += word;
        empty = false;
    }
    out += current + "\n";
}

// A help line as markdown: blank runs collapsed; an indented "name   text" line (a list
// of choices) as "`name` text".
std::string markdown_line(const std::string& line) {
    std::string text;
    std::string_view rest = trim(line);
    const bool list_item = !line.empty() && line.front() == ' ' && rest.find("  ") != std::string_view::npos &&
                           rest.find("  ") == rest.find(' ');
    bool first = true;
    for (std::string_view word : split(rest, " ")) {
        if (word.empty()) continue;
        if (!text.empty()) text += ' ';
        // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::string&&.
        if (list_item && first) text += '`';
        text += word;
        if (list_item && first) text += '`';
        first = false;
    }
    return text;
}

}  // namespace

std::vector<OptionEntry> option_entries(CLI::App& app, const std::vector<const CLI::Option*>& excluded) {
    std::vector<OptionEntry> entries;
    for (CLI::Option* option : app.get_options()) {
        if (std::find(excluded.begin(), excluded.end(), option) != excluded.end()) continue;
        if (option->get_group().empty() || option->get_lnames().empty()) continue;  // hidden, or short only
        OptionEntry entry;
        entry.name = option->get_lnames().front();
        if (option->get_type_size_max() > 0) entry.value_name = option->get_type_name();
        entry.help = help_lines(option->get_description());
        entry.configurable = option->get_configurable();
        const std::string first_line = entry.help.empty() ? std::string() : entry.help.front();
        if (auto inside = last_parenthesis(first_line)) {
            Parenthesis parenthesis = read_parenthesis(*option, *inside);
            entry.default_value = std::move(parenthesis.default_value);
            entry.required = parenthesis.required;
        }
        entry.required = entry.required || option->get_required();
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::string markdown_reference(const std::vector<OptionEntry>& entries) {
    std::string out = "| option | value | default and meaning |\n|---|---|---|\n";
    for (const OptionEntry& entry : entries) {
        std::string help;
        for (const std::string& line : entry.help) {
            if (!help.empty()) help += "<br>";
            help += markdown_line(line);
        }
        const std::string value = entry.value_name.empty() ? "(switch)" : "`" + entry.value_name + "`";
        out += "| `--" + entry.name + "` | " + table_cell(value) + " | " + table_cell(help) + " |\n";
    }
    return out;
}

std::string config_reference(const std::string& program, const std::vector<OptionEntry>& entries) {
    std::string out;
    const auto paragraph = [&out](const std::string& text) { append_comment(out, text); };
    paragraph(program + " configuration, read with `" + program + " --config FILE`.");
    out += "#\n";
    paragraph(
        "One option a line, `name = value`: the name is the long option without its leading dashes "
        "(`port = 9192` is `--port 9192`); the value is the rest of the line, quotes around it removed. "
        "'#' starts a comment, at the start of a line or after a value. An unknown name, or a [section] "
        "line, stops " +
        program + " from starting. An option given on the command line wins over this file.");
    out += "#\n";
    paragraph("Every option is below, commented out: at its default where it has one (the value " + program +
              " uses without the line), else with a <PLACEHOLDER> for its value. Remove the '#' of a line to set "
              "it. Generated from the options themselves by `" +
              program + " --print-options=config`.");
    for (const OptionEntry& entry : entries) {
        if (!entry.configurable) continue;
        out += "\n";
        for (const std::string& line : entry.help) paragraph(line);
        if (entry.required)
            paragraph("REQUIRED: " + program + " does not start without it; set it and remove the '#'.");
        std::string value;
        if (entry.value_name.empty())
            value = "true";  // a switch: the line turns it on
        else if (entry.default_value)
            value = *entry.default_value;
        else
            value = entry.value_name.find('<') == std::string::npos ? "<" + entry.value_name + ">" : entry.value_name;
        out += "# " + entry.name + " = " + value + "\n";
    }
    return out;
}

}  // namespace sharegate::cli
