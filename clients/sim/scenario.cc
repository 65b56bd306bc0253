#include "clients/sim/scenario.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <string_view>

namespace hotline::sim {
namespace {

using routing::Priority;
using routing::Topic;

// Reads one scenario file; every error names the file, the line and the key's full path
// ("counsellors[2].skills.counselling").
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  absl::Status Error(const toml::node& node, std::string_view key, std::string_view what) const {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}: {}", source_, node.source().begin.line, key, what));
  }

  // INVALID_ARGUMENT for the first key of `table` not in `known`.
  absl::Status OnlyKeys(const toml::table& table, std::string_view path,
                        std::initializer_list<std::string_view> known) const {
    for (const auto& [key, node] : table) {
      bool found = false;
      for (std::string_view k : known) {
        found = found || key.str() == k;
      }
      if (!found) {
        return Error(node, Join(path, key.str()), "unknown key");
      }
    }
    return absl::OkStatus();
  }

  // A number (integer or float) within [min, max]; `out` untouched when the key is absent.
  absl::Status Number(const toml::table& table, std::string_view key, std::string_view path,
                      double min, double max, double& out) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      return absl::OkStatus();
    }
    return NumberNode(*node, Join(path, key), min, max, out);
  }

  absl::Status NumberNode(const toml::node& node, const std::string& key, double min, double max,
                          double& out) const {
    std::optional<double> value;
    if (node.is_integer()) {
      value = static_cast<double>(node.as_integer()->get());
    } else if (node.is_floating_point()) {
      value = node.as_floating_point()->get();
    }
    if (!value) {
      return Error(node, key, "must be a number");
    }
    if (!std::isfinite(*value)) {
      return Error(node, key, "must be a finite number");
    }
    if (*value < min) {
      return Error(node, key, fmt::format("must be at least {:g}, not {:g}", min, *value));
    }
    if (*value > max) {
      return Error(node, key, fmt::format("must be at most {:g}, not {:g}", max, *value));
    }
    out = *value;
    return absl::OkStatus();
  }

  // A whole number within [min, max].
  template <class Int>
  absl::Status Integer(const toml::table& table, std::string_view key, std::string_view path,
                       int64_t min, int64_t max, Int& out) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      return absl::OkStatus();
    }
    if (!node->is_integer()) {
      return Error(*node, Join(path, key), "must be a whole number");
    }
    const int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      return Error(*node, Join(path, key), fmt::format("must be {} to {}, not {}", min, max, value));
    }
    out = static_cast<Int>(value);
    return absl::OkStatus();
  }

  // A duration given in seconds, as Millis.
  absl::Status Seconds(const toml::table& table, std::string_view key, std::string_view path,
                       double min_s, Millis& out) const {
    double seconds = 0;
    if (table.get(key) == nullptr) {
      return absl::OkStatus();
    }
    if (absl::Status s = Number(table, key, path, min_s, 1e12, seconds); !s.ok()) {
      return s;
    }
    out = Millis(std::llround(seconds * 1000));
    return absl::OkStatus();
  }

  absl::Status String(const toml::node& node, const std::string& key, std::string& out) const {
    if (!node.is_string()) {
      return Error(node, key, "must be a string");
    }
    out = node.as_string()->get();
    if (out.empty()) {
      return Error(node, key, "must not be empty");
    }
    return absl::OkStatus();
  }

  absl::Status Strings(const toml::table& table, std::string_view key, std::string_view path,
                       std::vector<std::string>& out) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      return absl::OkStatus();
    }
    const std::string name = Join(path, key);
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return Error(*node, name, "must be a list of strings");
    }
    out.clear();
    for (size_t i = 0; i < array->size(); ++i) {
      std::string value;
      if (absl::Status s = String(*array->get(i), fmt::format("{}[{}]", name, i), value);
          !s.ok()) {
        return s;
      }
      out.push_back(std::move(value));
    }
    return absl::OkStatus();
  }

  // A name from routing's Name() of `E` (lowercase: "abuse_report", "emergency").
  template <class E>
  absl::Status Enum(const toml::node& node, const std::string& key, std::string_view text,
                    std::initializer_list<E> choices, E& out) const {
    std::string names;
    for (E value : choices) {
      if (routing::Name(value) == text) {
        out = value;
        return absl::OkStatus();
      }
      names += fmt::format("{}{}", names.empty() ? "" : ", ", routing::Name(value));
    }
    return Error(node, key, fmt::format("'{}' is not one of {}", text, names));
  }

  const toml::table* Table(const toml::table& table, std::string_view key, std::string_view path,
                           absl::Status& status) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      return nullptr;
    }
    if (!node->is_table()) {
      status = Error(*node, Join(path, key), "must be a table");
      return nullptr;
    }
    return node->as_table();
  }

  static std::string Join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

 private:
  const std::string source_;
};

constexpr std::initializer_list<Topic> kTopics = {Topic::kAbuseReport, Topic::kCounselling,
                                                  Topic::kInformationLegal, Topic::kOther};
constexpr std::initializer_list<Priority> kPriorities = {Priority::kLow, Priority::kNormal,
                                                         Priority::kHigh, Priority::kEmergency};

// `[table] name = weight, ...` into values and weights; `parse` turns a key into a value.
template <class T, class Parse>
absl::Status ReadWeights(const Reader& r, const toml::table& calls, std::string_view key,
                         Weighted<T>& out, Parse parse) {
  absl::Status status;
  const toml::table* table = r.Table(calls, key, "calls", status);
  if (table == nullptr) {
    return status;
  }
  const std::string path = Reader::Join("calls", key);
  if (table->empty()) {
    return r.Error(*table, path, "needs at least one entry");
  }
  out = {};
  double total = 0;
  for (const auto& [name, node] : *table) {
    T value{};
    if (absl::Status s = parse(node, Reader::Join(path, name.str()), name.str(), value); !s.ok()) {
      return s;
    }
    double weight = 0;
    if (absl::Status s = r.NumberNode(node, Reader::Join(path, name.str()), 0, 1e12, weight);
        !s.ok()) {
      return s;
    }
    total += weight;
    out.values.push_back(std::move(value));
    out.weights.push_back(weight);
  }
  if (total <= 0) {
    return r.Error(*table, path, "the weights must not all be 0");
  }
  return absl::OkStatus();
}

absl::Status ReadCalls(const Reader& r, const toml::table& root, Scenario& s) {
  absl::Status status;
  const toml::table* calls = r.Table(root, "calls", "", status);
  if (calls == nullptr) {
    return status;
  }
  if (absl::Status e =
          r.OnlyKeys(*calls, "calls", {"provinces", "languages", "topics", "priorities"});
      !e.ok()) {
    return e;
  }
  const auto as_text = [](const toml::node&, const std::string&, std::string_view name,
                          std::string& out) {
    out = std::string(name);
    return absl::OkStatus();
  };
  const auto as_topic = [&r](const toml::node& node, const std::string& key,
                             std::string_view name, Topic& out) {
    return r.Enum(node, key, name, kTopics, out);
  };
  const auto as_priority = [&r](const toml::node& node, const std::string& key,
                                std::string_view name, Priority& out) {
    return r.Enum(node, key, name, kPriorities, out);
  };
  for (absl::Status e : {ReadWeights(r, *calls, "provinces", s.provinces, as_text),
                         ReadWeights(r, *calls, "languages", s.languages, as_text),
                         ReadWeights(r, *calls, "topics", s.topics, as_topic),
                         ReadWeights(r, *calls, "priorities", s.priorities, as_priority)}) {
    if (!e.ok()) {
      return e;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadArrivals(const Reader& r, const toml::table& root, Scenario& s) {
  absl::Status status;
  const toml::table* arrivals = r.Table(root, "arrivals", "", status);
  if (arrivals == nullptr) {
    return status.ok() ? r.Error(root, "arrivals", "is required") : status;
  }
  if (absl::Status e = r.OnlyKeys(*arrivals, "arrivals", {"per_hour", "scale"}); !e.ok()) {
    return e;
  }
  const toml::node* per_hour = arrivals->get("per_hour");
  if (per_hour == nullptr) {
    return r.Error(*arrivals, "arrivals.per_hour", "is required");
  }
  constexpr double kMaxRate = 1e7;
  if (const toml::array* hours = per_hour->as_array()) {
    if (hours->size() != 24) {
      return r.Error(*per_hour, "arrivals.per_hour",
                     fmt::format("needs 24 entries (hours 0-23), not {}", hours->size()));
    }
    for (size_t h = 0; h < 24; ++h) {
      if (absl::Status e = r.NumberNode(*hours->get(h), fmt::format("arrivals.per_hour[{}]", h),
                                        0, kMaxRate, s.calls_per_hour[h]);
          !e.ok()) {
        return e;
      }
    }
  } else {
    double rate = 0;
    if (absl::Status e = r.NumberNode(*per_hour, "arrivals.per_hour", 0, kMaxRate, rate);
        !e.ok()) {
      return e;
    }
    s.calls_per_hour.fill(rate);
  }
  double scale = 1;
  if (absl::Status e = r.Number(*arrivals, "scale", "arrivals", 0, 1e6, scale); !e.ok()) {
    return e;
  }
  for (double& rate : s.calls_per_hour) {
    rate *= scale;
  }
  return absl::OkStatus();
}

absl::Status ReadDistribution(const Reader& r, const toml::table& root, std::string_view key,
                              std::optional<Distribution>& out) {
  absl::Status status;
  const toml::table* table = r.Table(root, key, "", status);
  if (table == nullptr) {
    return status;
  }
  const std::string path(key);
  const toml::node* kind = table->get("distribution");
  std::string name;
  if (kind == nullptr) {
    return r.Error(*table, Reader::Join(path, "distribution"), "is required");
  }
  if (absl::Status e = r.String(*kind, Reader::Join(path, "distribution"), name); !e.ok()) {
    return e;
  }
  Distribution d;
  constexpr double kMax = 1e9;
  const auto need = [&](std::string_view k, double& v) -> absl::Status {
    if (table->get(k) == nullptr) {
      return r.Error(*table, Reader::Join(path, k), fmt::format("is required for {}", name));
    }
    return r.Number(*table, k, path, 0, kMax, v);
  };
  absl::Status e;
  if (name == "fixed") {
    d.kind = Distribution::Kind::kFixed;
    e = r.OnlyKeys(*table, path, {"distribution", "value_s"});
    e.Update(need("value_s", d.mean_s));
  } else if (name == "exponential") {
    d.kind = Distribution::Kind::kExponential;
    e = r.OnlyKeys(*table, path, {"distribution", "mean_s"});
    e.Update(need("mean_s", d.mean_s));
  } else if (name == "lognormal") {
    d.kind = Distribution::Kind::kLognormal;
    e = r.OnlyKeys(*table, path, {"distribution", "mean_s", "sd_s"});
    e.Update(need("mean_s", d.mean_s));
    e.Update(need("sd_s", d.sd_s));
    if (e.ok() && d.mean_s <= 0) {
      e = r.Error(*table->get("mean_s"), Reader::Join(path, "mean_s"), "must be positive");
    }
  } else if (name == "uniform") {
    d.kind = Distribution::Kind::kUniform;
    e = r.OnlyKeys(*table, path, {"distribution", "min_s", "max_s"});
    e.Update(need("min_s", d.min_s));
    e.Update(need("max_s", d.max_s));
    if (e.ok() && d.max_s < d.min_s) {
      e = r.Error(*table->get("max_s"), Reader::Join(path, "max_s"), "must be at least min_s");
    }
  } else {
    e = r.Error(*kind, Reader::Join(path, "distribution"),
                fmt::format("'{}' is not one of fixed, exponential, lognormal, uniform", name));
  }
  if (e.ok()) {
    out = d;
  }
  return e;
}

absl::Status ReadEngine(const Reader& r, const toml::table& root, Scenario& s) {
  absl::Status status;
  const toml::table* engine = r.Table(root, "engine", "", status);
  if (engine == nullptr) {
    return status;
  }
  absl::Status e = r.OnlyKeys(*engine, "engine",
                              {"max_wait_s", "offer_timeout_s", "wrap_up_s", "announce_every_s",
                               "missed_offers_before_break", "ladder", "strategy"});
  e.Update(r.Seconds(*engine, "max_wait_s", "engine", 1, s.engine.max_wait_ms));
  e.Update(r.Seconds(*engine, "offer_timeout_s", "engine", 1, s.engine.offer_timeout_ms));
  e.Update(r.Seconds(*engine, "wrap_up_s", "engine", 0, s.engine.wrap_up_ms));
  e.Update(r.Seconds(*engine, "announce_every_s", "engine", 1, s.engine.announce_every_ms));
  e.Update(r.Integer(*engine, "missed_offers_before_break", "engine", 1, 1000,
                     s.engine.missed_offers_before_break));
  if (const toml::node* ladder = engine->get("ladder"); ladder != nullptr && e.ok()) {
    std::string name;
    e.Update(r.String(*ladder, "engine.ladder", name));
    if (e.ok() && name == "national") {
      // One step, national scope, for every call: the textbook single pool.
      s.policy.default_ladder.steps = {routing::LadderStep{}};
      s.policy.priority_ladders.clear();
      s.policy.topic_ladders.clear();
    } else if (e.ok() && name != "default") {
      e = r.Error(*ladder, "engine.ladder", fmt::format("'{}' is not default or national", name));
    }
  }
  if (const toml::node* strategy = engine->get("strategy"); strategy != nullptr && e.ok()) {
    std::string name;
    e.Update(r.String(*strategy, "engine.strategy", name));
    if (e.ok()) {
      e = r.Enum(*strategy, "engine.strategy", name,
                 {routing::Strategy::kLongestIdle, routing::Strategy::kMostSkilled,
                  routing::Strategy::kFewestCallsToday, routing::Strategy::kRoundRobin},
                 s.policy.strategy);
    }
  }
  return e;
}

// "HH-HH": local hours [start, end).
absl::Status ReadShift(const Reader& r, const toml::node& node, const std::string& key,
                       std::pair<int, int>& out) {
  std::string text;
  if (absl::Status e = r.String(node, key, text); !e.ok()) {
    return e;
  }
  int start = -1;
  int end = -1;
  char dash = 0;
  std::istringstream in(text);
  in >> start >> dash >> end;
  if (!in || !in.eof() || dash != '-' || start < 0 || start > 23 || end < 0 || end > 24) {
    return r.Error(node, key,
                   fmt::format("'{}' is not a shift 'HH-HH' (local hours 0-23, then 0-24)", text));
  }
  out = {start, end};
  return absl::OkStatus();
}

absl::Status ReadCounsellor(const Reader& r, const toml::table& table, const std::string& path,
                            CounsellorGroup& g) {
  absl::Status e = r.OnlyKeys(table, path,
                              {"id", "count", "home_province", "provinces", "skills", "languages",
                               "gender", "shifts"});
  if (const toml::node* id = table.get("id"); id != nullptr) {
    e.Update(r.String(*id, Reader::Join(path, "id"), g.id));
  } else {
    e.Update(r.Error(table, Reader::Join(path, "id"), "is required"));
  }
  e.Update(r.Integer(table, "count", path, 0, 100'000, g.count));
  if (const toml::node* home = table.get("home_province"); home != nullptr) {
    e.Update(r.String(*home, Reader::Join(path, "home_province"), g.home_province));
  }
  e.Update(r.Strings(table, "provinces", path, g.provinces));
  g.languages = {"vi"};
  e.Update(r.Strings(table, "languages", path, g.languages));
  if (const toml::node* gender = table.get("gender"); gender != nullptr && e.ok()) {
    std::string name;
    e.Update(r.String(*gender, Reader::Join(path, "gender"), name));
    if (e.ok()) {
      e = r.Enum(*gender, Reader::Join(path, "gender"), name,
                 {routing::Gender::kFemale, routing::Gender::kMale}, g.gender);
    }
  }
  absl::Status status;
  if (const toml::table* skills = r.Table(table, "skills", path, status); skills != nullptr) {
    for (const auto& [name, node] : *skills) {
      const std::string key = Reader::Join(Reader::Join(path, "skills"), name.str());
      Topic topic{};
      e.Update(r.Enum(node, key, name.str(), kTopics, topic));
      double level = 0;
      e.Update(r.NumberNode(node, key, 1, 5, level));
      g.skills[topic] = static_cast<int>(level);
    }
  } else {
    e.Update(status);
    for (Topic t : kTopics) {
      g.skills[t] = 3;
    }
  }
  if (const toml::node* shifts = table.get("shifts"); shifts != nullptr && e.ok()) {
    const toml::array* array = shifts->as_array();
    if (array == nullptr) {
      return r.Error(*shifts, Reader::Join(path, "shifts"), "must be a list of 'HH-HH'");
    }
    for (size_t i = 0; i < array->size() && e.ok(); ++i) {
      std::pair<int, int> shift;
      e.Update(ReadShift(r, *array->get(i), fmt::format("{}.shifts[{}]", path, i), shift));
      g.shifts.push_back(shift);
    }
  } else {
    g.shifts = {{0, 24}};
  }
  return e;
}

absl::Status ReadRoster(const Reader& r, const toml::table& root, Scenario& s) {
  const toml::node* node = root.get("counsellors");
  if (node == nullptr) {
    return absl::OkStatus();
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return r.Error(*node, "counsellors", "must be an array of tables ([[counsellors]])");
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string path = fmt::format("counsellors[{}]", i);
    const toml::table* table = array->get(i)->as_table();
    if (table == nullptr) {
      return r.Error(*array->get(i), path, "must be a table");
    }
    CounsellorGroup group;
    if (absl::Status e = ReadCounsellor(r, *table, path, group); !e.ok()) {
      return e;
    }
    s.counsellors.push_back(std::move(group));
  }
  return absl::OkStatus();
}

// `[regions] centre = ["province", ...]`: the region tree of virtual time, so ladders widen
// from province to centre to national as in the daemon (which reads deploy/regions.toml).
absl::Status ReadRegions(const Reader& r, const toml::table& root, Scenario& s) {
  absl::Status status;
  const toml::table* regions = r.Table(root, "regions", "", status);
  if (regions == nullptr) {
    return status;
  }
  routing::RegionTable table;
  for (const auto& [centre, node] : *regions) {
    std::vector<std::string> codes;
    if (absl::Status e = r.Strings(*regions, centre.str(), "regions", codes); !e.ok()) {
      return e;
    }
    table.centres.push_back({.id = std::string(centre.str()), .name = std::string(centre.str())});
    for (const std::string& code : codes) {
      table.provinces.push_back(
          {.code = code, .name = code, .centre = std::string(centre.str()), .old_codes = {code}});
    }
  }
  if (absl::StatusOr<routing::Regions> valid = routing::Regions::Create(table); !valid.ok()) {
    return r.Error(*regions, "regions", std::string(valid.status().message()));
  }
  s.policy.regions = std::move(table);
  return absl::OkStatus();
}

absl::Status ReadTop(const Reader& r, const toml::table& root, Scenario& s) {
  absl::Status e = r.OnlyKeys(root, "",
                              {"seed", "start_date", "start_hour", "duration_hours", "duration_days",
                               "warm_up_hours", "service_level_s", "arrivals", "calls",
                               "talk_time", "patience", "accept_delay", "wrap_up", "engine",
                               "regions", "counsellors"});
  e.Update(r.Integer(root, "seed", "", 0, INT64_MAX, s.seed));
  double hours = 24;
  double days = 0;
  e.Update(r.Number(root, "duration_hours", "", 0.001, 24.0 * 3660, hours));
  e.Update(r.Number(root, "duration_days", "", 0.001, 3660, days));
  if (days > 0) {
    hours = days * 24;
  }
  s.duration = Millis(std::llround(hours * 3'600'000));
  double warm_up = 0;
  e.Update(r.Number(root, "warm_up_hours", "", 0, hours, warm_up));
  s.warm_up = Millis(std::llround(warm_up * 3'600'000));
  e.Update(r.Seconds(root, "service_level_s", "", 0, s.answer_target));

  std::chrono::year_month_day date{std::chrono::year(2026), std::chrono::month(1),
                                   std::chrono::day(5)};
  if (const toml::node* node = root.get("start_date"); node != nullptr) {
    if (!node->is_date()) {
      e.Update(r.Error(*node, "start_date", "must be a date (2026-01-05, unquoted)"));
    } else {
      const toml::date d = node->as_date()->get();
      date = std::chrono::year_month_day{std::chrono::year(d.year), std::chrono::month(d.month),
                                         std::chrono::day(d.day)};
    }
  }
  int start_hour = 0;
  e.Update(r.Integer(root, "start_hour", "", 0, 23, start_hour));
  s.start = Timestamp(std::chrono::sys_days(date).time_since_epoch()) - kLocalOffset +
            Millis(start_hour * 3'600'000LL);
  return e;
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  const Reader r(source);
  Scenario s;
  s.source = source;
  s.provinces = {{"38"}, {1}};
  s.languages = {{"vi"}, {1}};
  s.topics = {{Topic::kCounselling}, {1}};
  s.priorities = {{Priority::kNormal}, {1}};
  s.talk = Distribution{.kind = Distribution::Kind::kExponential, .mean_s = 300};
  std::optional<Distribution> talk, accept, wrap;
  // Stop at the first error: later ones may be its consequences.
  for (const auto& step : std::initializer_list<std::function<absl::Status()>>{
           [&] { return ReadTop(r, root, s); },
           [&] { return ReadArrivals(r, root, s); },
           [&] { return ReadCalls(r, root, s); },
           [&] { return ReadDistribution(r, root, "talk_time", talk); },
           [&] { return ReadDistribution(r, root, "patience", s.patience); },
           [&] { return ReadDistribution(r, root, "accept_delay", accept); },
           [&] { return ReadDistribution(r, root, "wrap_up", wrap); },
           [&] { return ReadEngine(r, root, s); },
           [&] { return ReadRegions(r, root, s); },
           [&] { return ReadRoster(r, root, s); }}) {
    if (absl::Status e = step(); !e.ok()) {
      return e;
    }
  }
  s.talk = talk.value_or(s.talk);
  s.accept_delay = accept.value_or(Distribution{});
  s.wrap_up = wrap.value_or(Distribution{});
  return s;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(fmt::format("scenario '{}' cannot be read", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseScenario(text.str(), path);
}

std::vector<std::pair<Timestamp, Timestamp>> ShiftIntervals(const Scenario& scenario,
                                                            const CounsellorGroup& g) {
  constexpr Millis kHour{3'600'000};
  const Timestamp end = scenario.start + scenario.duration;
  constexpr Millis kDay{24 * kHour};
  // Local midnight of the first day, then every day the scenario touches (and the day before,
  // for a night shift running into the first morning).
  const Millis local = (scenario.start + kLocalOffset).time_since_epoch();
  const Timestamp first_midnight = scenario.start - (local % kDay);
  std::vector<std::pair<Timestamp, Timestamp>> raw;
  for (Timestamp day = first_midnight - kDay; day < end; day += kDay) {
    for (const auto& [start, stop] : g.shifts) {
      const Timestamp on = day + start * kHour;
      const Timestamp off = day + (stop <= start ? stop + 24 : stop) * kHour;
      const Timestamp clipped_on = std::max(on, scenario.start);
      const Timestamp clipped_off = std::min(off, end);
      if (clipped_on < clipped_off) {
        raw.emplace_back(clipped_on, clipped_off);
      }
    }
  }
  std::sort(raw.begin(), raw.end());
  // Back-to-back or overlapping shifts are one stretch at the desk, not a sign-out and sign-in.
  std::vector<std::pair<Timestamp, Timestamp>> merged;
  for (const auto& interval : raw) {
    if (!merged.empty() && interval.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, interval.second);
    } else {
      merged.push_back(interval);
    }
  }
  return merged;
}

std::string ClockText(const Scenario& scenario, Timestamp t) {
  const Millis day(86'400'000);
  const Millis local = (scenario.start + kLocalOffset).time_since_epoch();
  // Days count from the start date's local midnight, so a run starting at 16:00 is on day 1.
  const auto minutes =
      std::chrono::duration_cast<std::chrono::minutes>(t - scenario.start + local % day).count();
  return fmt::format("day {} {:02}:{:02}", minutes / 1440 + 1, minutes % 1440 / 60,
                     minutes % 60);
}

std::vector<std::string> CounsellorIds(const CounsellorGroup& group) {
  if (group.count == 1) {
    return {group.id};
  }
  std::vector<std::string> ids;
  for (int i = 1; i <= group.count; ++i) {
    ids.push_back(fmt::format("{}-{:03}", group.id, i));
  }
  return ids;
}

}  // namespace hotline::sim
