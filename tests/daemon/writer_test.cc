// The journal writer on its own thread, over a FaultySink: group commit, then sends, then answers;
// transient faults retried with answers held; a refusal retrying cannot mend stops it for good.
// Retries are injected at 1 ms and every wait is on an event with a deadline, never a sleep.
#include "daemon/writer.h"

#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"
#include "tests/testing/blocking_queue.h"
#include "tests/testing/faulty_sink.h"

namespace hotline::daemon {
namespace {

using namespace std::chrono_literals;

// How long a test waits for an event that should come; a missing one still fails the test.
constexpr std::chrono::milliseconds kPatience = 10s;

// The database behind the FaultySink: keeps the journal seqs it committed.
class RecordingSink final : public storage::Sink {
 public:
  absl::Status Commit(const storage::Batch& batch) override {
    std::lock_guard lock(mu_);
    std::vector<int64_t>& commit = commits_.emplace_back();
    for (const storage::JournalEntry& entry : batch.journal) {
      seqs_.push_back(entry.seq);
      commit.push_back(entry.seq);
    }
    if (batch.snapshot) {
      snapshots_.push_back(batch.snapshot->state);
    }
    return absl::OkStatus();
  }

  // What checkpointing answers, right after answers and in a quiet moment; set before the
  // writer is given a unit.
  std::function<absl::StatusOr<bool>()> on_checkpoint = [] { return false; };
  std::function<absl::StatusOr<bool>()> on_quiet = [] { return false; };
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override {
    return moment == Moment::kQuiet ? on_quiet() : on_checkpoint();
  }
  void SetLockWaitHook(std::function<void()> /*hook*/) override {}  // It never waits.

  // The states of the snapshots committed, in order.
  std::vector<std::string> snapshots() const {
    std::lock_guard lock(mu_);
    return snapshots_;
  }

  std::vector<int64_t> seqs() const {
    std::lock_guard lock(mu_);
    return seqs_;
  }

  // The journal seqs of each commit, in order.
  std::vector<std::vector<int64_t>> commits() const {
    std::lock_guard lock(mu_);
    return commits_;
  }

  bool Has(int64_t seq) const {
    std::lock_guard lock(mu_);
    return std::find(seqs_.begin(), seqs_.end(), seq) != seqs_.end();
  }

 private:
  mutable std::mutex mu_;
  std::vector<int64_t> seqs_;
  std::vector<std::vector<int64_t>> commits_;
  std::vector<std::string> snapshots_;
};

// A writer over FaultySink over RecordingSink, reporting everything it does as an event:
// "send N", "answer N durable" (or "answer N NOT durable"), "healthy", "unhealthy", "fatal".
struct Harness {
  // Retries at 1 ms; no quiet moment comes (a day) unless a test asks for one.
  explicit Harness(WriterOptions writer_options = {.first_retry = 1ms,
                                                   .longest_retry = 1ms,
                                                   .quiet_checkpoint_after = 24h})
      : options(writer_options) {}
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // The unit of journal record `seq`, with one send and one answer.
  Writer::Unit Unit(int64_t seq) {
    Writer::Unit unit;
    unit.batch.journal.push_back(
        storage::JournalEntry{.seq = seq, .at_ms = 1'000 + seq, .record = "record"});
    unit.sends.push_back([this, seq] { events.Push("send " + std::to_string(seq)); });
    unit.answers.push_back([this, seq] {
      events.Push("answer " + std::to_string(seq) + (store.Has(seq) ? " durable" : " NOT durable"));
    });
    return unit;
  }

  // The next event; fails the test if none comes within kPatience.
  std::string Next() {
    std::optional<std::string> event = events.Pop(kPatience);
    REQUIRE(event.has_value());
    return *event;
  }

  // Events until `count` answers came, in order.
  std::vector<std::string> UntilAnswers(int count) {
    std::vector<std::string> seen;
    while (count > 0) {
      seen.push_back(Next());
      if (seen.back().rfind("answer", 0) == 0) {
        --count;
      }
    }
    return seen;
  }

  RecordingSink store;
  std::shared_ptr<testing::FaultSwitch> faults = std::make_shared<testing::FaultSwitch>();
  testing::FaultySink sink{store, faults};
  testing::BlockingQueue<std::string> events;
  std::atomic<int> fatal_calls = 0;
  absl::Status fatal_status;  // Written by on_fatal before its event is pushed.
  const WriterOptions options;
  // Last: stopped and joined before what it calls is destroyed.
  Writer writer{sink, [this](bool healthy) { events.Push(healthy ? "healthy" : "unhealthy"); },
                [this](const absl::Status& why) {
                  fatal_status = why;
                  ++fatal_calls;
                  events.Push("fatal");
                },
                options};
};

// The position of `event` in `events`; fails the test if it is not there.
size_t IndexOf(const std::vector<std::string>& events, const std::string& event) {
  auto it = std::find(events.begin(), events.end(), event);
  INFO(event);
  REQUIRE(it != events.end());
  return static_cast<size_t>(it - events.begin());
}

TEST_CASE("the writer answers each unit after it is durable, sends first, in submission order",
          "[daemon][writer]") {
  Harness h;
  h.writer.Submit(h.Unit(1));
  h.writer.Submit(h.Unit(2));
  const std::vector<std::string> events = h.UntilAnswers(2);
  // Merged into one commit or not, each answer follows its send and the answers keep their order.
  CHECK(IndexOf(events, "send 1") < IndexOf(events, "answer 1 durable"));
  CHECK(IndexOf(events, "send 2") < IndexOf(events, "answer 2 durable"));
  CHECK(IndexOf(events, "answer 1 durable") < IndexOf(events, "answer 2 durable"));
  h.writer.Stop(0ms);
  CHECK(h.store.seqs() == std::vector<int64_t>{1, 2});
  CHECK(h.writer.healthy());
  CHECK(h.writer.failure().ok());
  CHECK(h.fatal_calls == 0);
}

// Gathering: the units a test wants the writer to find together are submitted while it is held
// in its checkpoint after the previous batch's answers (`go`), so that what it finds when it
// looks again does not depend on timing. The wait is a day long: its count ends it, or Stop.
TEST_CASE("under load the writer gathers units into one commit; after a lone unit it never waits",
          "[daemon][writer]") {
  const auto harness = [](std::chrono::milliseconds quiet_after,
                          std::chrono::microseconds gather_for = 24h, size_t gather_units = 3) {
    return std::make_unique<Harness>(WriterOptions{.first_retry = 1ms,
                                                   .longest_retry = 1ms,
                                                   .quiet_checkpoint_after = quiet_after,
                                                   .gather_for = gather_for,
                                                   .gather_units = gather_units});
  };
  // Held after each batch's answers until the test lets it go on (no Catch2 assertion on the
  // writer's thread: a hold that ran out is counted, and checked at the end).
  testing::BlockingQueue<bool> go;
  std::atomic<int> held_too_long = 0;
  const auto hold_after_answers = [&](Harness& h) {
    h.store.on_checkpoint = [&]() -> absl::StatusOr<bool> {
      h.events.Push("checkpoint");
      if (!go.Pop(kPatience).has_value()) {
        ++held_too_long;
      }
      return false;
    };
  };
  using Commits = std::vector<std::vector<int64_t>>;
  // Unit 1 alone after nothing, committed at once (a day-long wait would fail Next()); then
  // units 2 and 3, found together after a batch of one, committed at once and together. The
  // writer is left held after their answers.
  const auto batch_of_two = [&](Harness& h) {
    h.writer.Submit(h.Unit(1));
    CHECK(h.UntilAnswers(1) == std::vector<std::string>{"send 1", "answer 1 durable"});
    CHECK(h.Next() == "checkpoint");
    h.writer.Submit(h.Unit(2));
    h.writer.Submit(h.Unit(3));
    go.Push(true);
    CHECK(h.UntilAnswers(2) ==
          std::vector<std::string>{"send 2", "send 3", "answer 2 durable", "answer 3 durable"});
    CHECK(h.Next() == "checkpoint");
  };

  // Unit 4, submitted, is committed alone; then the writer stops.
  const auto committed_alone = [&](Harness& h) {
    CHECK(h.UntilAnswers(1) == std::vector<std::string>{"send 4", "answer 4 durable"});
    CHECK(h.Next() == "checkpoint");
    go.Push(true);
    h.writer.Stop(0ms);
    CHECK(h.store.commits() == Commits{{1}, {2, 3}, {4}});
    CHECK(held_too_long == 0);
  };

  SECTION("a batch of two: the next unit waits for gather_units, then all go in one commit") {
    std::unique_ptr<Harness> h = harness(24h);
    hold_after_answers(*h);
    batch_of_two(*h);
    // After a batch of two, unit 4 found alone waits for two more.
    h->writer.Submit(h->Unit(4));
    go.Push(true);
    CHECK_FALSE(h->events.Pop(50ms).has_value());  // Gathering: nothing committed or sent.
    h->writer.Submit(h->Unit(5));
    CHECK_FALSE(h->events.Pop(50ms).has_value());
    h->writer.Submit(h->Unit(6));
    CHECK(h->UntilAnswers(3) == std::vector<std::string>{"send 4", "send 5", "send 6",
                                                         "answer 4 durable", "answer 5 durable",
                                                         "answer 6 durable"});
    CHECK(h->Next() == "checkpoint");
    // Gathering again (the last batch held three); Stop ends the wait and writes what is queued.
    h->writer.Submit(h->Unit(7));
    go.Push(true);
    CHECK_FALSE(h->events.Pop(50ms).has_value());
    go.Push(true);  // For the checkpoint after unit 7's answers.
    h->writer.Stop(0ms);
    CHECK(h->UntilAnswers(1) == std::vector<std::string>{"send 7", "answer 7 durable"});
    CHECK(h->store.commits() == Commits{{1}, {2, 3}, {4, 5, 6}, {7}});
    CHECK(held_too_long == 0);
  }

  SECTION("a quiet moment after a batch of two: the next unit is committed at once") {
    std::unique_ptr<Harness> h = harness(0ms);
    hold_after_answers(*h);
    h->store.on_quiet = [&events = h->events]() -> absl::StatusOr<bool> {
      events.Push("quiet");
      return false;
    };
    batch_of_two(*h);
    go.Push(true);
    CHECK(h->Next() == "quiet");  // At once (0 ms), with nothing queued.
    // The last batch held two, but the writer has been quiet since: no gathering.
    h->writer.Submit(h->Unit(4));
    committed_alone(*h);
  }

  SECTION("gather_for runs out: the unit found alone is committed alone") {
    std::unique_ptr<Harness> h = harness(24h, 2ms, 100);
    hold_after_answers(*h);
    batch_of_two(*h);
    h->writer.Submit(h->Unit(4));
    go.Push(true);
    committed_alone(*h);
  }
}

// Unit `seq` with a snapshot whose state its encoder makes ("state <seq>"), noting the thread
// it runs on and how often it runs.
struct Encoded {
  std::mutex mu;
  std::vector<std::thread::id> threads;
  std::vector<int64_t> seqs;
};
Writer::Unit WithSnapshot(Harness& h, int64_t seq, Encoded& encoded) {
  Writer::Unit unit = h.Unit(seq);
  unit.batch.snapshot = storage::Snapshot{.seq = seq, .at_ms = 1'000 + seq, .state = ""};
  unit.encode_snapshot = [seq, &encoded] {
    std::lock_guard lock(encoded.mu);
    encoded.threads.push_back(std::this_thread::get_id());
    encoded.seqs.push_back(seq);
    return "state " + std::to_string(seq);
  };
  return unit;
}

TEST_CASE("the writer checkpoints after it has answered a unit, answer-only units too",
          "[daemon][writer]") {
  Harness h;
  std::atomic<bool> fail{false};
  h.store.on_checkpoint = [&]() -> absl::StatusOr<bool> {
    h.events.Push(fail ? "checkpoint failed" : "checkpoint");
    if (fail) {
      return absl::UnavailableError("disk I/O error");
    }
    return true;
  };
  h.writer.Submit(h.Unit(1));
  // Never inside the commit: after the unit's send and its answer.
  CHECK(h.Next() == "send 1");
  CHECK(h.Next() == "answer 1 durable");
  CHECK(h.Next() == "checkpoint");

  Writer::Unit only_answers;  // A repeat, a read: nothing to commit, still a unit answered.
  only_answers.answers.push_back([&] { h.events.Push("answer without a commit"); });
  h.writer.Submit(std::move(only_answers));
  CHECK(h.Next() == "answer without a commit");
  CHECK(h.Next() == "checkpoint");

  // A checkpoint that fails holds nothing and stops nothing: the next unit is answered, and the
  // writer checkpoints after it again.
  fail = true;
  h.writer.Submit(h.Unit(2));
  CHECK(h.Next() == "send 2");
  CHECK(h.Next() == "answer 2 durable");
  CHECK(h.Next() == "checkpoint failed");
  fail = false;
  h.writer.Submit(h.Unit(3));
  CHECK(h.Next() == "send 3");
  CHECK(h.Next() == "answer 3 durable");
  CHECK(h.Next() == "checkpoint");
  CHECK(h.writer.healthy());

  // While commits fail, nothing is checkpointed: the answers wait, and so does the checkpoint.
  h.faults->Fail(absl::UnavailableError("disk I/O error"));
  h.writer.Submit(h.Unit(4));
  CHECK(h.Next() == "unhealthy");
  CHECK(h.Next() == "send 4");
  h.faults->Heal();
  const std::vector<std::string> after = h.UntilAnswers(1);
  CHECK(after == std::vector<std::string>{"healthy", "answer 4 durable"});
  CHECK(h.Next() == "checkpoint");
  h.writer.Stop(0ms);
  CHECK(h.store.seqs() == std::vector<int64_t>{1, 2, 3, 4});
}

TEST_CASE("the writer gives the sink its quiet moment once nothing has come since its last answer",
          "[daemon][writer]") {
  // `quiet_after`: the writer's quiet moment; `units`: submitted one after another, each once
  // the last was answered; `quiet_each`: whether a quiet moment follows each answered unit.
  const auto run = [](std::chrono::milliseconds quiet_after, int units, bool quiet_each) {
    Harness h({.first_retry = 1ms, .longest_retry = 1ms, .quiet_checkpoint_after = quiet_after});
    h.store.on_checkpoint = [&]() -> absl::StatusOr<bool> {
      h.events.Push("checkpoint");
      return false;
    };
    h.store.on_quiet = [&]() -> absl::StatusOr<bool> {
      h.events.Push("quiet");
      return true;
    };
    for (int seq = 1; seq <= units; ++seq) {
      INFO("unit " << seq);
      h.writer.Submit(h.Unit(seq));
      CHECK(h.Next() == "send " + std::to_string(seq));
      CHECK(h.Next() == "answer " + std::to_string(seq) + " durable");
      CHECK(h.Next() == "checkpoint");
      if (quiet_each) {
        CHECK(h.Next() == "quiet");
      }
    }
    h.writer.Stop(0ms);
    CHECK_FALSE(h.events.Pop(0ms).has_value());  // No quiet moment without a batch before it.
  };
  SECTION("at once (a quiet moment of 0): after the answers' checkpoint, once per batch") {
    run(0ms, 2, true);
  }
  SECTION("never while units keep coming (a quiet moment of a day)") { run(24h, 3, false); }
}

// The Store behind the writer, reporting each checkpoint it is asked for: the moment, the WAL's
// frames then, and whether it ran.
class ReportingStore final : public storage::Sink {
 public:
  ReportingStore(storage::Store& store, testing::BlockingQueue<std::string>& events)
      : store_(store), events_(events) {}
  absl::Status Commit(const storage::Batch& batch) override { return store_.Commit(batch); }
  void SetLockWaitHook(std::function<void()> hook) override {
    store_.SetLockWaitHook(std::move(hook));
  }
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override {
    const int frames = store_.wal_frames();
    absl::StatusOr<bool> ran = store_.CheckpointIfDue(moment);
    events_.Push(absl::StrCat(moment == Moment::kQuiet ? "quiet" : "after answers",
                              " frames=", frames, " ran=", ran.ok() && *ran ? 1 : 0));
    return ran;
  }

 private:
  storage::Store& store_;
  testing::BlockingQueue<std::string>& events_;
};

TEST_CASE(
    "under sparse load the writer empties the WAL in the quiet moments, long before "
    "1,000 pages",
    "[daemon][writer]") {
  // Before: the only checkpoint came right after an answer once the WAL held 1,000 pages, and
  // held the gateway's next event (sent as soon as it read that answer) 5-10 ms. Now a quiet
  // moment after a few calls' commits empties it, when nothing waits.
  storage::testing::TempDb db;
  std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(db.path());
  testing::BlockingQueue<std::string> events;
  ReportingStore sink(*store, events);
  Writer writer(
      sink, [](bool) {}, [](const absl::Status&) {},
      WriterOptions{.first_retry = 1ms, .longest_retry = 1ms, .quiet_checkpoint_after = 0ms});
  const auto next = [&] {
    std::optional<std::string> event = events.Pop(kPatience);
    REQUIRE(event.has_value());
    return *event;
  };
  int64_t seq = 0;
  int units = 0;
  std::string quiet;
  // Each unit: ten 2,000-byte journal records, about a dozen pages; at most 150 of them.
  while (units < 150) {
    Writer::Unit unit;
    for (int i = 0; i < 10; ++i) {
      ++seq;
      unit.batch.journal.push_back(storage::JournalEntry{
          .seq = seq, .at_ms = 1'000 + seq, .record = std::string(2'000, 'r')});
    }
    unit.answers.push_back([&events] { events.Push("answer"); });
    writer.Submit(std::move(unit));
    ++units;
    REQUIRE(next() == "answer");
    const std::string after_answers = next();
    INFO(after_answers);
    REQUIRE(after_answers.rfind("after answers", 0) == 0);
    REQUIRE(after_answers.substr(after_answers.size() - 5) == "ran=0");  // Under 1,000 pages.
    quiet = next();
    REQUIRE(quiet.rfind("quiet", 0) == 0);
    if (quiet.substr(quiet.size() - 5) == "ran=1") {
      break;
    }
  }
  INFO(units << " units; " << quiet);
  REQUIRE(quiet.substr(quiet.size() - 5) == "ran=1");
  writer.Stop(0ms);
  CHECK(store->checkpoints() == 1);
  CHECK(store->wal_restarts() == 1);
  CHECK(store->wal_frames() == 1);  // Started over with one page in the quiet moment.
  CHECK(storage::testing::Count(db.path(), "SELECT COUNT(*) FROM journal") == seq);
}

TEST_CASE("a unit's snapshot is encoded on the writer thread before its commit, once",
          "[daemon][writer][snapshot]") {
  Harness h;
  Encoded encoded;
  h.writer.Submit(WithSnapshot(h, 1, encoded));
  CHECK(h.UntilAnswers(1).back() == "answer 1 durable");
  h.writer.Stop(0ms);
  CHECK(h.store.snapshots() == std::vector<std::string>{"state 1"});
  std::lock_guard lock(encoded.mu);
  CHECK(encoded.seqs == std::vector<int64_t>{1});
  REQUIRE(encoded.threads.size() == 1);
  CHECK(encoded.threads[0] != std::this_thread::get_id());
}

TEST_CASE("a snapshot that arrives while commits fail replaces the held one, encoded by its own",
          "[daemon][writer][snapshot]") {
  Harness h;
  Encoded encoded;
  h.faults->Fail(absl::UnavailableError("database is locked"));
  h.writer.Submit(WithSnapshot(h, 1, encoded));
  CHECK(h.Next() == "unhealthy");
  CHECK(h.Next() == "send 1");
  h.writer.Submit(WithSnapshot(h, 2, encoded));
  CHECK(h.Next() == "send 2");
  h.writer.Submit(h.Unit(3));  // No snapshot: the held one stays.
  CHECK(h.Next() == "send 3");
  h.faults->Heal();
  CHECK(h.Next() == "healthy");
  CHECK(h.UntilAnswers(3).back() == "answer 3 durable");
  h.writer.Stop(0ms);
  CHECK(h.store.snapshots() == std::vector<std::string>{"state 2"});
  std::lock_guard lock(encoded.mu);
  // The first was encoded for the commit that failed, the second once for the one that held.
  CHECK(encoded.seqs == std::vector<int64_t>{1, 2});
}

TEST_CASE("a transient fault: sends go out at once, answers wait, and run in order once durable",
          "[daemon][writer]") {
  const absl::Status fault = GENERATE(absl::UnavailableError("database is locked"),
                                      absl::ResourceExhaustedError("database or disk is full"));
  INFO(fault.ToString());
  REQUIRE(Writer::IsTransient(fault));
  Harness h;
  h.faults->Fail(fault);
  h.writer.Submit(h.Unit(1));
  // The refusal is reported, then what the engine decided goes out; the answer is held.
  CHECK(h.Next() == "unhealthy");
  CHECK(h.Next() == "send 1");
  CHECK(h.faults->refused.load() >= 1);
  CHECK_FALSE(h.writer.healthy());
  // A unit submitted while commits fail: its send goes out at once too.
  h.writer.Submit(h.Unit(2));
  CHECK(h.Next() == "send 2");

  h.faults->Heal();
  // Both written in the retry; only then the answers, in order, and no send a second time.
  CHECK(h.Next() == "healthy");
  CHECK(h.Next() == "answer 1 durable");
  CHECK(h.Next() == "answer 2 durable");
  CHECK(h.writer.healthy());
  h.writer.Stop(0ms);
  CHECK_FALSE(h.events.Pop(0ms).has_value());
  CHECK(h.store.seqs() == std::vector<int64_t>{1, 2});
  CHECK(h.fatal_calls == 0);
  CHECK(h.writer.failure().ok());
}

TEST_CASE(
    "while another connection holds the database's lock, sends go out during the commit's wait "
    "and answers wait for the commit",
    "[daemon][writer]") {
  // Before: the sends of a batch waited with its commit, up to the busy handler's 5 s, then went
  // out because the commit had failed (the writer unhealthy), and again for every retry: a
  // script's transaction on the database held gateways' connects for seconds.
  storage::testing::TempDb db;
  std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(db.path());
  testing::BlockingQueue<std::string> events;
  Writer writer(
      *store, [&events](bool healthy) { events.Push(healthy ? "healthy" : "unhealthy"); },
      [](const absl::Status&) {}, WriterOptions{.first_retry = 1ms, .longest_retry = 1ms});
  const auto unit = [&](int64_t seq) {
    Writer::Unit u;
    u.batch.journal.push_back(
        storage::JournalEntry{.seq = seq, .at_ms = 1'000 + seq, .record = "r"});
    // Whether the commit was still waiting (the writer healthy) or had failed when it ran.
    u.sends.push_back([&events, &writer, seq] {
      events.Push(absl::StrCat("send ", seq, writer.healthy() ? " while waiting" : " after"));
    });
    u.answers.push_back([&events, seq] { events.Push(absl::StrCat("answer ", seq)); });
    return u;
  };
  SQLite::Database other(db.path(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN EXCLUSIVE");
  writer.Submit(unit(1));
  std::optional<std::string> event = events.Pop(kPatience);
  CHECK(event == "send 1 while waiting");
  // A unit submitted while the commit waits: its send goes out during the same wait.
  writer.Submit(unit(2));
  event = events.Pop(kPatience);
  CHECK(event == "send 2 while waiting");
  CHECK(store->busy_waits() >= 1);
  CHECK(storage::testing::Count(db.path(), "SELECT COUNT(*) FROM journal") == 0);

  other.exec("COMMIT");
  // Then both are written and answered in order; nothing is sent twice. (On a machine so slow
  // that the 5 s wait ran out first, the writer reports unhealthy, then healthy: not sends.)
  std::vector<std::string> after;
  while (after.size() < 2) {
    event = events.Pop(kPatience);
    REQUIRE(event.has_value());
    if (*event != "unhealthy" && *event != "healthy") {
      after.push_back(*event);
    }
  }
  CHECK(after == std::vector<std::string>{"answer 1", "answer 2"});
  writer.Stop(0ms);
  while ((event = events.Pop(0ms))) {
    CHECK((*event == "unhealthy" || *event == "healthy"));
  }
  CHECK(storage::testing::Count(db.path(), "SELECT COUNT(*) FROM journal") == 2);
}

TEST_CASE(
    "while an answer's own write waits for another connection's lock, the sends of units "
    "queued meanwhile go out",
    "[daemon][writer]") {
  // Before: the hook ran only inside Commit, so a write an answer makes on the writer thread (an
  // audit row, a counsellor's new token) held every gateway command queued behind it for the
  // whole 5 s busy wait.
  storage::testing::TempDb db;
  std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(db.path());
  testing::BlockingQueue<std::string> events;
  Writer writer(
      *store, [](bool) {}, [](const absl::Status&) {},
      WriterOptions{.first_retry = 1ms, .longest_retry = 1ms});
  SQLite::Database other(db.path(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN EXCLUSIVE");
  std::atomic<bool> audit_returned = false;
  Writer::Unit audit;  // An answer-only unit: it commits nothing, its answer writes.
  audit.answers.push_back([&] {
    events.Push("audit started");
    const absl::Status s = store->RecordAudit(storage::AuditRow{.at_ms = 1'000,
                                                                .role = "admin",
                                                                .principal = "test",
                                                                .action = "probe",
                                                                .subject = "",
                                                                .id = 0});
    audit_returned = true;
    events.Push(absl::StrCat("audit ", s.ok() ? "written" : "failed"));
  });
  writer.Submit(std::move(audit));
  std::optional<std::string> event = events.Pop(kPatience);
  REQUIRE(event == "audit started");
  // Submitted while that answer's write waits: its send goes out during that wait.
  Writer::Unit unit;
  unit.batch.journal.push_back(storage::JournalEntry{.seq = 1, .at_ms = 1'001, .record = "r"});
  unit.sends.push_back(
      [&] { events.Push(audit_returned ? "send after the audit" : "send while the audit waits"); });
  writer.Submit(std::move(unit));
  event = events.Pop(kPatience);
  CHECK(event == "send while the audit waits");  // Before: "audit failed", 5 s later.
  other.exec("COMMIT");
  event = events.Pop(kPatience);
  CHECK(event == "audit written");
  writer.Stop(kPatience);
  CHECK(storage::testing::Count(db.path(), "SELECT COUNT(*) FROM journal") == 1);
}

TEST_CASE("a refusal retrying cannot mend stops the writer for good: nothing more is answered",
          "[daemon][writer]") {
  const absl::Status refusal =
      GENERATE(absl::FailedPreconditionError("journal seq 7 is not above the stored seq 9"),
               absl::InvalidArgumentError("call record: empty call_id"),
               absl::AlreadyExistsError("counsellor 'lan' exists"),
               absl::NotFoundError("no counsellor 'lan'"), absl::InternalError("constraint failed"),
               absl::DataLossError("database disk image is malformed"));
  INFO(refusal.ToString());
  REQUIRE_FALSE(Writer::IsTransient(refusal));
  Harness h;
  h.faults->Fail(refusal);
  h.writer.Submit(h.Unit(1));
  CHECK(h.Next() == "unhealthy");
  REQUIRE(h.Next() == "fatal");  // Not "send 1": nothing the refused batch decided goes out.
  CHECK(h.fatal_status == refusal);
  CHECK(h.writer.failure() == refusal);
  CHECK_FALSE(h.writer.healthy());

  // Even once the store would take it, nothing after the refusal is written or answered.
  h.faults->Heal();
  h.writer.Submit(h.Unit(2));
  h.writer.Stop(0ms);
  CHECK_FALSE(h.events.Pop(0ms).has_value());
  CHECK(h.faults->refused.load() == 1);  // Tried once, never retried.
  CHECK(h.faults->committed.load() == 0);
  CHECK(h.store.seqs().empty());
  CHECK(h.fatal_calls == 1);
}

TEST_CASE("a refusal after transient faults stops the writer, and what it held stays unanswered",
          "[daemon][writer]") {
  Harness h;
  h.faults->Fail(absl::UnavailableError("disk I/O error"));
  h.writer.Submit(h.Unit(1));
  CHECK(h.Next() == "unhealthy");
  CHECK(h.Next() == "send 1");  // Routing went on from memory while the fault looked transient.

  h.faults->Fail(absl::FailedPreconditionError("journal seq 1 is not above the stored seq 1"));
  h.writer.Submit(h.Unit(2));
  // Unit 2's send may go out before the refusal comes (commits were failing); never an answer.
  std::string event = h.Next();
  if (event == "send 2") {
    event = h.Next();
  }
  CHECK(event == "fatal");
  h.faults->Heal();
  h.writer.Submit(h.Unit(3));
  h.writer.Stop(0ms);
  CHECK_FALSE(h.events.Pop(0ms).has_value());
  CHECK(h.store.seqs().empty());
  CHECK(h.fatal_calls == 1);
}

}  // namespace
}  // namespace hotline::daemon
