#include "daemon/policy_file.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace hotline::daemon {

namespace {

using routing::LadderStep;
using routing::Need;
using routing::Scope;
using routing::Strategy;

absl::Status Error(const std::string& source, const toml::node& node, const std::string& what) {
  return absl::InvalidArgumentError(
      fmt::format("{}:{}: {}", source, node.source().begin.line, what));
}

absl::StatusOr<toml::table> Parse(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(fmt::format("'{}' cannot be read", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads the string at `key` of `table` into `out` when present; `field` names it in errors.
absl::Status String(const toml::table& table, const char* key, const std::string& field,
                    const std::string& source, std::string& out, bool required) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return required ? Error(source, table, fmt::format("'{}' is required", field))
                    : absl::OkStatus();
  }
  if (!node->is_string()) {
    return Error(source, *node, fmt::format("'{}' must be a string", field));
  }
  out = node->as_string()->get();
  return absl::OkStatus();
}

template <class E>
absl::Status Choice(const toml::table& table, const char* key, const std::string& field,
                    const std::string& source,
                    const std::vector<std::pair<std::string, E>>& choices, E& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return absl::OkStatus();
  }
  std::string names;
  for (const auto& [name, value] : choices) {
    if (node->is_string() && node->as_string()->get() == name) {
      out = value;
      return absl::OkStatus();
    }
    names += (names.empty() ? "" : ", ") + name;
  }
  return Error(source, *node, fmt::format("'{}' must be one of {}", field, names));
}

absl::StatusOr<routing::Ladder> ParseLadder(const toml::node& node, const std::string& name,
                                            const std::string& source) {
  const toml::array* steps = node.as_array();
  if (steps == nullptr || steps->empty()) {
    return Error(source, node,
                 fmt::format("'{}' must be a list of steps ([[{}]] tables)", name, name));
  }
  static const std::set<std::string> kKeys = {"scope", "duration_ms", "min_proficiency", "language",
                                              "gender"};
  routing::Ladder ladder;
  for (size_t i = 0; i < steps->size(); ++i) {
    const toml::node& entry = *steps->get(i);
    const std::string field = fmt::format("{}[{}]", name, i);
    const toml::table* t = entry.as_table();
    if (t == nullptr) {
      return Error(source, entry, fmt::format("'{}' must be a table", field));
    }
    for (const auto& [key, value] : *t) {
      if (!kKeys.contains(std::string(key.str()))) {
        return Error(source, value, fmt::format("unknown key '{}.{}'", field, key.str()));
      }
    }
    LadderStep step;
    step.language = Need::kRequired;
    step.gender = Need::kPreferred;
    if (t->get("scope") == nullptr) {
      return Error(source, entry, fmt::format("'{}.scope' is required", field));
    }
    const std::vector<std::pair<std::string, Need>> needs = {{"required", Need::kRequired},
                                                             {"preferred", Need::kPreferred}};
    for (absl::Status s : {
             Choice<Scope>(*t, "scope", field + ".scope", source,
                           {{"province", Scope::kProvince},
                            {"centre", Scope::kCentre},
                            {"national", Scope::kNational}},
                           step.scope),
             Choice<Need>(*t, "language", field + ".language", source, needs, step.language),
             Choice<Need>(*t, "gender", field + ".gender", source, needs, step.gender),
         }) {
      if (!s.ok()) {
        return s;
      }
    }
    if (const toml::node* p = t->get("min_proficiency")) {
      if (!p->is_integer() || p->as_integer()->get() < 1 || p->as_integer()->get() > 5) {
        return Error(source, *p,
                     fmt::format("'{}.min_proficiency' must be an integer from 1 to 5", field));
      }
      step.min_proficiency = static_cast<int>(p->as_integer()->get());
    }
    const toml::node* d = t->get("duration_ms");
    const bool last = i + 1 == steps->size();
    if (d == nullptr && !last) {
      return Error(source, entry,
                   fmt::format("'{}.duration_ms' is required (only the last step lasts until "
                               "the maximum wait)",
                               field));
    }
    if (d != nullptr) {
      if (!d->is_integer() || d->as_integer()->get() < 1 || d->as_integer()->get() > 86'400'000) {
        return Error(source, *d,
                     fmt::format("'{}.duration_ms' must be an integer from 1 to 86400000", field));
      }
      step.duration_ms = routing::Millis(d->as_integer()->get());
    }
    ladder.steps.push_back(step);
  }
  return ladder;
}

}  // namespace

absl::StatusOr<routing::RegionTable> ParseRegions(const std::string& text,
                                                  const std::string& source) {
  auto root = Parse(text, source);
  if (!root.ok()) {
    return root.status();
  }
  routing::RegionTable table;
  const toml::table* centres = root->get_as<toml::table>("centres");
  const toml::table* provinces = root->get_as<toml::table>("provinces");
  if (centres == nullptr || provinces == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: needs a [centres.<id>] table per centre and a [provinces] table", source));
  }
  for (const auto& [id, node] : *centres) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      return Error(source, node, fmt::format("'centres.{}' must be a table", id.str()));
    }
    routing::RegionTable::Centre centre{std::string(id.str()), ""};
    if (absl::Status s =
            String(*t, "name", fmt::format("centres.{}.name", id.str()), source, centre.name, true);
        !s.ok()) {
      return s;
    }
    table.centres.push_back(std::move(centre));
  }
  for (const auto& [code, node] : *provinces) {
    const std::string field = fmt::format("provinces.\"{}\"", code.str());
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      return Error(source, node, fmt::format("'{}' must be a table", field));
    }
    routing::RegionTable::Province p;
    p.code = std::string(code.str());
    for (absl::Status s : {String(*t, "name", field + ".name", source, p.name, true),
                           String(*t, "centre", field + ".centre", source, p.centre, true)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (const toml::node* old = t->get("old")) {
      const toml::array* codes = old->as_array();
      if (codes == nullptr) {
        return Error(source, *old, fmt::format("'{}.old' must be a list of codes", field));
      }
      for (const auto& c : *codes) {
        if (!c.is_string()) {
          return Error(source, c, fmt::format("'{}.old' must be a list of codes", field));
        }
        p.old_codes.push_back(c.as_string()->get());
      }
    }
    table.provinces.push_back(std::move(p));
  }
  if (auto regions = routing::Regions::Create(table); !regions.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", source, std::string(regions.status().message())));
  }
  return table;
}

absl::StatusOr<routing::Policy> ParsePolicy(const std::string& text, const std::string& source,
                                            routing::RegionTable regions) {
  auto root = Parse(text, source);
  if (!root.ok()) {
    return root.status();
  }
  routing::Policy policy;
  policy.regions = std::move(regions);
  for (const auto& [key, value] : *root) {
    if (key.str() != "strategy" && key.str() != "ladders" && key.str() != "wrap_up_ms" &&
        key.str() != "wellbeing" && key.str() != "repeat_callers") {
      return Error(source, value, fmt::format("unknown key '{}'", key.str()));
    }
  }
  if (const toml::node* node = root->get("wrap_up_ms")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) {
      return Error(source, *node, "'wrap_up_ms' must be a table of topic = milliseconds");
    }
    for (const auto& [topic_name, value] : *t) {
      const std::string field = fmt::format("wrap_up_ms.{}", topic_name.str());
      bool known = false;
      for (auto topic : {routing::Topic::kAbuseReport, routing::Topic::kCounselling,
                         routing::Topic::kInformationLegal, routing::Topic::kOther}) {
        if (routing::Name(topic) == topic_name.str()) {
          if (!value.is_integer() || value.as_integer()->get() < 1 ||
              value.as_integer()->get() > 3'600'000) {
            return Error(source, value,
                         fmt::format("'{}' must be an integer from 1 to 3600000", field));
          }
          policy.wrap_up_ms[topic] = routing::Millis(value.as_integer()->get());
          known = true;
        }
      }
      if (!known) {
        return Error(source, value,
                     fmt::format("'{}': '{}' is not a topic (abuse_report, counselling, "
                                 "information_legal, other)",
                                 field, topic_name.str()));
      }
    }
  }
  if (const toml::node* node = root->get("wellbeing")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) {
      return Error(source, *node, "'wellbeing' must be a table");
    }
    for (const auto& [key, value] : *t) {
      const std::string field = fmt::format("wellbeing.{}", key.str());
      const bool cool_down = key.str() == "cool_down_ms";
      if (!cool_down && key.str() != "max_heavy_in_row") {
        return Error(source, value, fmt::format("unknown key '{}'", field));
      }
      const int64_t max = cool_down ? 86'400'000 : 100;
      const int64_t min = cool_down ? 0 : 1;
      if (!value.is_integer() || value.as_integer()->get() < min ||
          value.as_integer()->get() > max) {
        return Error(source, value,
                     fmt::format("'{}' must be an integer from {} to {}", field, min, max));
      }
      if (cool_down) {
        policy.cool_down_ms = routing::Millis(value.as_integer()->get());
      } else {
        policy.max_heavy_in_row = static_cast<int>(value.as_integer()->get());
      }
    }
  }
  if (absl::Status s = Choice<Strategy>(*root, "strategy", "strategy", source,
                                        {{"longest_idle", Strategy::kLongestIdle},
                                         {"most_skilled", Strategy::kMostSkilled},
                                         {"fewest_calls_today", Strategy::kFewestCallsToday},
                                         {"round_robin", Strategy::kRoundRobin}},
                                        policy.strategy);
      !s.ok()) {
    return s;
  }
  if (const toml::node* node = root->get("repeat_callers")) {
    const toml::table* t = node->as_table();
    if (t == nullptr) {
      return Error(source, *node, "'repeat_callers' must be a table");
    }
    for (const auto& [key, value] : *t) {
      const std::string field = fmt::format("repeat_callers.{}", key.str());
      routing::Millis* out = key.str() == "window_ms" ? &policy.repeat_window_ms
                             : key.str() == "wait_ms" ? &policy.repeat_wait_ms
                                                      : nullptr;
      if (out == nullptr) {
        return Error(source, value, fmt::format("unknown key '{}'", field));
      }
      if (!value.is_integer() || value.as_integer()->get() < 0 ||
          value.as_integer()->get() > 90LL * 86'400'000) {
        return Error(source, value,
                     fmt::format("'{}' must be an integer from 0 to 7776000000", field));
      }
      *out = routing::Millis(value.as_integer()->get());
    }
  }
  const toml::table* ladders = root->get_as<toml::table>("ladders");
  if (ladders == nullptr || ladders->get("default") == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: a default ladder ([[ladders.default]] steps) is required", source));
  }
  for (const auto& [key, node] : *ladders) {
    const std::string name(key.str());
    if (name == "default") {
      auto ladder = ParseLadder(node, "ladders.default", source);
      if (!ladder.ok()) {
        return ladder.status();
      }
      policy.default_ladder = std::move(*ladder);
    } else if (name == "priority" || name == "topic") {
      const toml::table* group = node.as_table();
      if (group == nullptr) {
        return Error(source, node, fmt::format("'ladders.{}' must be a table", name));
      }
      for (const auto& [which, steps] : *group) {
        const std::string field = fmt::format("ladders.{}.{}", name, which.str());
        auto ladder = ParseLadder(steps, field, source);
        if (!ladder.ok()) {
          return ladder.status();
        }
        bool known = false;
        if (name == "priority") {
          for (auto p : {routing::Priority::kLow, routing::Priority::kNormal,
                         routing::Priority::kHigh, routing::Priority::kEmergency}) {
            if (routing::Name(p) == which.str()) {
              policy.priority_ladders[p] = *ladder;
              known = true;
            }
          }
        } else {
          for (auto t : {routing::Topic::kAbuseReport, routing::Topic::kCounselling,
                         routing::Topic::kInformationLegal, routing::Topic::kOther}) {
            if (routing::Name(t) == which.str()) {
              policy.topic_ladders[t] = *ladder;
              known = true;
            }
          }
        }
        if (!known) {
          return Error(source, steps,
                       fmt::format("'{}': '{}' is not a {}", field, which.str(),
                                   name == "priority" ? "priority (low, normal, high, emergency)"
                                                      : "topic (abuse_report, counselling, "
                                                        "information_legal, other)"));
        }
      }
    } else {
      return Error(
          source, node,
          fmt::format("unknown ladder group 'ladders.{}' (default, priority, topic)", name));
    }
  }
  if (absl::Status s = routing::Validate(policy); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source, std::string(s.message())));
  }
  return policy;
}

absl::StatusOr<routing::Policy> LoadPolicy(const std::string& policy_path,
                                           const std::string& regions_path) {
  auto regions_text = ReadFile(regions_path);
  if (!regions_text.ok()) {
    return regions_text.status();
  }
  auto regions = ParseRegions(*regions_text, regions_path);
  if (!regions.ok()) {
    return regions.status();
  }
  auto policy_text = ReadFile(policy_path);
  if (!policy_text.ok()) {
    return policy_text.status();
  }
  return ParsePolicy(*policy_text, policy_path, std::move(*regions));
}

std::string Summary(const routing::Policy& policy) {
  std::string ladder;
  for (const auto& step : policy.default_ladder.steps) {
    if (!ladder.empty()) {
      ladder += " > ";
    }
    ladder += std::string(routing::Name(step.scope));
    if (&step != &policy.default_ladder.steps.back()) {
      ladder += fmt::format(" {}s", step.duration_ms.count() / 1000.0);
    }
  }
  return fmt::format("strategy {}; default ladder {}; {} more ladders; {} provinces in {} centres",
                     routing::Name(policy.strategy), ladder,
                     policy.priority_ladders.size() + policy.topic_ladders.size(),
                     policy.regions.provinces.size(), policy.regions.centres.size());
}

}  // namespace hotline::daemon
