#include "clients/desk/desk_commands.h"

#include <absl/strings/ascii.h>

#include <absl/status/status.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "clients/common/enum_names.h"
#include "clients/common/text.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;

constexpr std::string_view kFlagsPrefix = "flags=";

// Reads whitespace-separated words off the front of a line while keeping the rest intact, so a
// note keeps the spacing the counsellor typed.
class Words {
 public:
  explicit Words(std::string_view line) : rest_(line) {}

  // The next word, or empty at the end of the line.
  std::string_view Next() {
    rest_ = Trim(rest_);
    const size_t end = std::min(rest_.find_first_of(" \t\r\n\f\v"), rest_.size());
    const std::string_view word = rest_.substr(0, end);
    rest_.remove_prefix(end);
    return word;
  }

  // What is left, without surrounding whitespace.
  std::string_view Rest() const { return Trim(rest_); }

 private:
  std::string_view rest_;
};

absl::StatusOr<v1::Category> ParseCategory(std::string_view text) {
  if (std::optional<v1::Category> category = ParseEnum<v1::Category>(text)) {
    return *category;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown category '{}'; one of: {}", text, EnumNames<v1::Category>(", ")));
}

absl::StatusOr<v1::Action> ParseAction(std::string_view text) {
  if (std::optional<v1::Action> action = ParseEnum<v1::Action>(text)) {
    return *action;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown action '{}'; one of: {}", text, EnumNames<v1::Action>(", ")));
}

absl::Status ParseFlags(std::string_view list, v1::Disposition& disposition) {
  for (std::string_view name : Split(list, ',')) {
    if (name.empty()) {
      continue;
    }
    const std::optional<v1::DispositionFlag> flag = ParseEnum<v1::DispositionFlag>(name);
    if (!flag) {
      return absl::InvalidArgumentError(
          fmt::format("unknown flag '{}'; one of: {}", name, EnumNames<v1::DispositionFlag>(", ")));
    }
    // The proto wants each flag once; typing one twice is not worth an error.
    bool seen = false;
    for (int existing : disposition.flags()) {
      seen = seen || existing == *flag;
    }
    if (!seen) {
      disposition.add_flags(*flag);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DeskCommand> ParseDisposition(Words& words) {
  const std::string_view category_text = words.Next();
  const std::string_view action_text = words.Next();
  if (action_text.empty()) {
    return absl::InvalidArgumentError(
        "usage: dispo CATEGORY ACTION [heavy] [flags=F,...] [break] [note...]");
  }
  DeskCommand command;
  command.kind = DeskCommand::Kind::kDisposition;
  absl::StatusOr<v1::Category> category = ParseCategory(category_text);
  if (!category.ok()) {
    return category.status();
  }
  absl::StatusOr<v1::Action> action = ParseAction(action_text);
  if (!action.ok()) {
    return action.status();
  }
  command.disposition.set_category(*category);
  command.disposition.set_action(*action);
  // Options come first; the first word that is not one starts the note.
  while (true) {
    const std::string_view rest = words.Rest();
    Words lookahead(rest);
    const std::string_view word = lookahead.Next();
    if (word == "heavy") {
      command.disposition.set_heavy(true);
    } else if (word == "break") {
      command.ready_for_next = false;
    } else if (word.starts_with(kFlagsPrefix)) {
      if (absl::Status status = ParseFlags(word.substr(kFlagsPrefix.size()), command.disposition);
          !status.ok()) {
        return status;
      }
    } else {
      command.disposition.set_note(std::string(rest));
      break;
    }
    words.Next();
  }
  return command;
}

// "label: a, b, c" folded at 100 columns, continuation lines indented under the first name.
std::string Wrapped(std::string_view label, const std::string& names) {
  constexpr size_t kColumns = 100;
  std::string text = fmt::format("{}: ", label);
  const size_t indent = text.size();
  size_t line_start = 0;
  for (std::string_view word : Split(names, ' ')) {
    if (text.size() - line_start + word.size() > kColumns && text.size() - line_start > indent) {
      text.pop_back();  // The space before the fold.
      text += '\n';
      line_start = text.size();
      text.append(indent, ' ');
    }
    text += word;
    text += ' ';
  }
  text.pop_back();
  return text;
}

}  // namespace

absl::StatusOr<DeskCommand> ParseDeskCommand(std::string_view line) {
  Words words(line);
  const std::string verb = AsciiLower(words.Next());
  DeskCommand command;
  if (verb.empty()) {
    return command;
  }
  if (verb == "available" || verb == "break" || verb == "offline") {
    command.kind = DeskCommand::Kind::kPresence;
    command.state = verb == "available" ? v1::COUNSELLOR_STATE_AVAILABLE
                    : verb == "break"   ? v1::COUNSELLOR_STATE_BREAK
                                        : v1::COUNSELLOR_STATE_OFFLINE;
    if (const std::string reason = AsciiLower(words.Next()); !reason.empty()) {
      v1::BreakReason named = v1::BREAK_REASON_UNSPECIFIED;
      if (verb != "break" || reason == "chosen" ||
          !v1::BreakReason_Parse("BREAK_REASON_" + absl::AsciiStrToUpper(reason), &named) ||
          named < v1::BREAK_REASON_REST) {
        return absl::InvalidArgumentError(fmt::format(
            "usage: break [rest|meal|training|debrief|follow_up] (not '{}')", reason));
      }
      command.break_reason = named;
    }
  } else if (verb == "accept" || verb == "decline") {
    command.kind = DeskCommand::Kind::kAnswer;
    command.accept = verb == "accept";
    command.call_id = std::string(words.Next());
  } else if (verb == "never") {
    command.kind = DeskCommand::Kind::kNeverRoute;
    command.call_id = std::string(words.Next());
  } else if (verb == "dispo") {
    return ParseDisposition(words);
  } else if (verb == "help" || verb == "?") {
    command.kind = DeskCommand::Kind::kHelp;
  } else if (verb == "quit" || verb == "exit") {
    command.kind = DeskCommand::Kind::kQuit;
  } else {
    return absl::InvalidArgumentError(fmt::format("unknown command '{}' (try help)", verb));
  }
  if (!words.Rest().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("unexpected '{}' after {} (try help)", words.Rest(), verb));
  }
  return command;
}

absl::StatusOr<v1::Disposition> ParseCategoryAction(std::string_view text) {
  const std::vector<std::string_view> parts = Split(text, ':');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not CATEGORY:ACTION, e.g. family_relationships:counselled", text));
  }
  absl::StatusOr<v1::Category> category = ParseCategory(parts[0]);
  if (!category.ok()) {
    return category.status();
  }
  absl::StatusOr<v1::Action> action = ParseAction(parts[1]);
  if (!action.ok()) {
    return action.status();
  }
  v1::Disposition disposition;
  disposition.set_category(*category);
  disposition.set_action(*action);
  return disposition;
}

std::string DeskHelp() {
  return fmt::format(
      "commands:\n"
      "  available                go AVAILABLE for offers\n"
      "  break [REASON]           go on BREAK; REASON: rest, meal, training, debrief, follow_up\n"
      "  offline                  go OFFLINE\n"
      "  accept [CALL]            accept the ringing offer (or CALL's)\n"
      "  decline [CALL]           decline the ringing offer (or CALL's)\n"
      "  dispo CATEGORY ACTION [heavy] [flags=F,...] [break] [note...]\n"
      "                           record the call in wrap-up; 'heavy' asks for a cool-down,\n"
      "                           'break' stays on BREAK afterwards instead of AVAILABLE\n"
      "  never [CALL]             never be routed this caller again: CALL's (live, or ended in\n"
      "                           the last day), else the call in wrap-up, else the ringing\n"
      "                           offer, else the call talked to since the last offer\n"
      "  help                     this text\n"
      "  quit                     close the desk and exit ('offline' first signs out)\n"
      "{}\n{}\n{}",
      Wrapped("categories", EnumNames<v1::Category>(", ")),
      Wrapped("actions", EnumNames<v1::Action>(", ")),
      Wrapped("flags", EnumNames<v1::DispositionFlag>(", ")));
}

}  // namespace hotline::clients
