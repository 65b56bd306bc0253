#include "daemon/metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "routing/check.h"

namespace hotline::daemon {

namespace prometheus {

namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are Prometheus' own.
bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.substr(0, 2) == "__") {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c); });
}

// HELP text escapes backslash and line feed; label values also escape the double quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// A non-negative duration as exact decimal seconds, without trailing zeros: 100 µs is "0.0001",
// 10 s is "10". Integer arithmetic, so a bucket's `le` reads the same in every scrape.
std::string Seconds(std::chrono::nanoseconds d) {
  const int64_t ns = std::max<int64_t>(d.count(), 0);
  std::string out = std::to_string(ns / 1'000'000'000);
  if (const int64_t fraction = ns % 1'000'000'000; fraction != 0) {
    char digits[16];
    std::snprintf(digits, sizeof(digits), "%09" PRId64, fraction);
    std::string_view view(digits);
    view = view.substr(0, view.find_last_not_of('0') + 1);
    out += '.';
    out += view;
  }
  return out;
}

// `name{labels,extra_name="extra_value"} value\n`, the braces only when there is a label.
void AppendSample(std::string& out, std::string_view name, const Labels& labels,
                  std::string_view extra_name, std::string_view extra_value,
                  std::string_view value) {
  out += name;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    auto label = [&](std::string_view n, std::string_view v) {
      if (!first) {
        out += ',';
      }
      first = false;
      out += n;
      out += "=\"";
      AppendEscaped(out, v, /*quote=*/true);
      out += '"';
    };
    for (const auto& [n, v] : labels) {
      label(n, v);
    }
    if (!extra_name.empty()) {
      label(extra_name, extra_value);
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<std::chrono::nanoseconds> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  HOTLINE_CHECK(bounds_.empty() || bounds_.front().count() > 0);
  HOTLINE_CHECK(std::adjacent_find(bounds_.begin(), bounds_.end(),
                                   [](auto a, auto b) { return a >= b; }) == bounds_.end());
}

void Histogram::Observe(std::chrono::nanoseconds d) {
  d = std::max(d, std::chrono::nanoseconds(0));
  // The first bound not below d: `le` is inclusive. Past the last bound, the +Inf bucket.
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), d) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(d.count(), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(total);
  }
  snapshot.sum = std::chrono::nanoseconds(sum_ns_.load(std::memory_order_relaxed));
  return snapshot;
}

std::vector<std::chrono::nanoseconds> LatencyBuckets() {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  return {microseconds(100), microseconds(250), microseconds(500), milliseconds(1),
          microseconds(2'500), milliseconds(5),   milliseconds(10),  milliseconds(25),
          milliseconds(50),    milliseconds(100), milliseconds(250), milliseconds(500),
          seconds(1),          milliseconds(2'500), seconds(5),      seconds(10)};
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help,
                                      Type type, const Labels& labels) {
  HOTLINE_CHECK(ValidMetricName(name));
  for (const auto& [label, value] : labels) {
    HOTLINE_CHECK(ValidLabelName(label));
    HOTLINE_CHECK(type != Type::kHistogram || label != "le");
  }
  auto it = std::find_if(families_.begin(), families_.end(),
                         [&](const auto& f) { return f->name == name; });
  if (it == families_.end()) {
    families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
    return *families_.back();
  }
  Family& family = **it;
  HOTLINE_CHECK(family.type == type);
  HOTLINE_CHECK(std::none_of(family.series.begin(), family.series.end(),
                             [&](const Series& s) { return s.labels == labels; }));
  return family;
}

template <class T, class... Args>
T& Registry::Append(Family& family, Labels labels, Args&&... args) {
  auto value = std::make_unique<T>(std::forward<Args>(args)...);
  T& result = *value;
  family.series.push_back(Series{std::move(labels), std::move(value)});
  return result;
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  Family& family = FamilyFor(name, help, Type::kCounter, labels);
  return Append<Counter>(family, std::move(labels));
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  Family& family = FamilyFor(name, help, Type::kGauge, labels);
  return Append<Gauge>(family, std::move(labels));
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::chrono::nanoseconds> bounds, Labels labels) {
  Family& family = FamilyFor(name, help, Type::kHistogram, labels);
  // One family, one set of buckets: quantiles across its series need them to match.
  HOTLINE_CHECK(family.series.empty() ||
                std::get<std::unique_ptr<Histogram>>(family.series.front().value)->bounds() ==
                    bounds);
  return Append<Histogram>(family, std::move(labels), std::move(bounds));
}

std::string Registry::Render() const {
  std::string out;
  for (const auto& family : families_) {
    const std::string& name = family->name;
    out += "# HELP " + name + " ";
    AppendEscaped(out, family->help, /*quote=*/false);
    const char* type = family->type == Type::kCounter ? "counter"
                       : family->type == Type::kGauge ? "gauge"
                                                      : "histogram";
    out += "\n# TYPE " + name + " " + type + "\n";
    for (const Series& series : family->series) {
      if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&series.value)) {
        AppendSample(out, name, series.labels, "", "", std::to_string((*counter)->value()));
      } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&series.value)) {
        AppendSample(out, name, series.labels, "", "", std::to_string((*gauge)->value()));
      } else {
        const Histogram& histogram = *std::get<std::unique_ptr<Histogram>>(series.value);
        const Histogram::Snapshot snapshot = histogram.Read();
        const std::string bucket = name + "_bucket";
        for (size_t i = 0; i < histogram.bounds().size(); ++i) {
          AppendSample(out, bucket, series.labels, "le", Seconds(histogram.bounds()[i]),
                       std::to_string(snapshot.cumulative[i]));
        }
        AppendSample(out, bucket, series.labels, "le", "+Inf", std::to_string(snapshot.count()));
        AppendSample(out, name + "_sum", series.labels, "", "", Seconds(snapshot.sum));
        AppendSample(out, name + "_count", series.labels, "", "", std::to_string(snapshot.count()));
      }
    }
  }
  return out;
}

}  // namespace prometheus

namespace {

// The slot of an enum value in one of Metrics' arrays (routing/types.h numbers from 1).
template <class T, size_t N, class Enum>
T* Slot(const std::array<T*, N>& slots, Enum e) {
  const auto i = static_cast<size_t>(e);
  HOTLINE_CHECK(i < N && slots[i] != nullptr);
  return slots[i];
}

}  // namespace

Metrics::Metrics() {
  using routing::CounsellorState;
  using routing::Outcome;
  using routing::Priority;
  for (const Priority p :
       {Priority::kEmergency, Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    waiting_[static_cast<size_t>(p)] =
        &registry_.AddGauge("hotline_waiting_calls", "Calls waiting in the queue now, by priority.",
                            {{"priority", std::string(routing::Name(p))}});
  }
  for (const CounsellorState s :
       {CounsellorState::kOffline, CounsellorState::kAvailable, CounsellorState::kReserved,
        CounsellorState::kOnCall, CounsellorState::kWrapUp, CounsellorState::kBreak}) {
    counsellors_[static_cast<size_t>(s)] =
        &registry_.AddGauge("hotline_counsellors", "Counsellors in each presence state now.",
                            {{"state", std::string(routing::Name(s))}});
  }
  for (const Outcome o : {Outcome::kCompleted, Outcome::kAbandoned, Outcome::kTimedOut,
                          Outcome::kRejected, Outcome::kFailed, Outcome::kCallbackRequested}) {
    finished_[static_cast<size_t>(o)] = &registry_.AddCounter(
        "hotline_calls_finished_total", "Calls finished since hotlined started, by outcome.",
        {{"outcome", std::string(routing::Name(o))}});
  }
  ack_ = &registry_.AddHistogram(
      "hotline_event_ack_seconds",
      "Time from a gateway event being read to its acknowledgement being sent, journal commit "
      "included.",
      prometheus::LatencyBuckets());
  decision_ = &registry_.AddHistogram("hotline_decision_seconds",
                                      "Time the engine thread took to handle one input.",
                                      prometheus::LatencyBuckets());
  commit_ = &registry_.AddHistogram(
      "hotline_journal_commit_seconds",
      "Time one journal commit (one transaction for a group of inputs) took, failed attempts "
      "included.",
      prometheus::LatencyBuckets());
  checkpoint_ = &registry_.AddHistogram(
      "hotline_wal_checkpoint_seconds",
      "Time one checkpoint of the write-ahead log into the database file took: after answering a "
      "batch that left 1,000 pages or more in it, or once the writer has been quiet for 20 ms "
      "with 100 pages or more (a quiet one that copied every page also starts the log over, "
      "a commit of one page). No acknowledgement waits for it; a batch that comes meanwhile "
      "does.",
      prometheus::LatencyBuckets());
  storage_serving_ = &registry_.AddGauge(
      "hotline_storage_serving",
      "1 while journal commits succeed, 0 while they fail and events are not acknowledged.");
  // As the writer starts: healthy until a commit fails.
  storage_serving_->Set(1);
  lock_waits_ = &registry_.AddCounter(
      "hotline_storage_lock_waits_total",
      "Times the journal writer waited for a lock another connection to the database held (a "
      "backup, hotlinectl, sqlite3 writing). Each wait lasts up to 5 s, and every acknowledgement "
      "behind it waits too; past 5 s the commit fails and hotline_storage_serving reads 0.");
  log_lines_dropped_ = &registry_.AddCounter(
      "hotline_log_lines_dropped_total",
      "Log lines dropped because the log queue was full (hotlined --log-queue-lines, 8,192 by "
      "default, waiting for stdout's reader): the oldest waiting line goes, so no thread that "
      "routes calls ever waits for the log. Calls are recorded in the database, never only in "
      "the log.");
  after_close_ = &registry_.AddCounter(
      "hotline_gateway_messages_after_close_total",
      "Gateway messages read on a stream already closing (its account revoked or rotated, its "
      "gateway connected again, the stream cut off): dropped, never applied. The daemon reads "
      "no more from that stream.");
}

void Metrics::SetWaiting(routing::Priority p, int64_t n) { Slot(waiting_, p)->Set(n); }

void Metrics::SetCounsellors(routing::CounsellorState s, int64_t n) {
  Slot(counsellors_, s)->Set(n);
}

void Metrics::CountFinished(routing::Outcome o) { Slot(finished_, o)->Increment(); }

void Metrics::ObserveDecision(std::chrono::nanoseconds d) { decision_->Observe(d); }

void Metrics::ObserveAck(std::chrono::nanoseconds d) { ack_->Observe(d); }

void Metrics::ObserveCommit(std::chrono::nanoseconds d) { commit_->Observe(d); }

void Metrics::ObserveCheckpoint(std::chrono::nanoseconds d) { checkpoint_->Observe(d); }

void Metrics::SetStorageServing(bool serving) { storage_serving_->Set(serving ? 1 : 0); }

std::string Metrics::Render() const { return registry_.Render(); }

}  // namespace hotline::daemon
