// crash_test: the real `hotlined` under load, killed with SIGKILL at random moments and restarted
// on the same database, several times per run, while its gateway now and then drops its stream
// for longer than the maximum wait. Afterwards every call whose arrival was acknowledged must be
// either recorded in `calls` with one outcome or still live, waiting calls in the order they
// arrived, nothing duplicated, and the state rebuilt from the journal equal to the state the
// daemon shut down with (DESIGN.md §4 "Journal first", §6 "A crash, a kill -9 ... loses no
// acknowledged event"; gateway.proto's reconciliation contract).
//
// The daemon runs with deploy/hotline.toml changed in four keys (written to the run's
// directory): a snapshot every --snapshot-every journal records (100; the config accepts down
// to 1), so snapshots are taken and restored across the kills; a maximum wait of
// --max-wait-ms (2.5 s), so calls time out while the gateway is away; a 3 s offer timeout and
// a 5 s wrap-up, so a counsellor held by a lost answer is soon back.
//
// The pieces, each on its own threads:
//   DaemonProcess   (daemon_process.h) starts hotlined as a child, reads its log, kills it.
//   Gateway         (gateway.h) one gateway following the reconciliation contract.
//   Desk            (desk.h) one counsellor's desk: Watch, go AVAILABLE, answer, record.
//   Checker, JournalWatcher, CheckDatabase (checks.h) read the database and the queue view.
// main() runs the disruptions one after another at seeded arrival counts:
//   kill           SIGKILL and restart at once;
//   away           the gateway drops its stream and stays away until the database shows a call
//                  it holds timed out, then says hello again: the Welcome must answer that call
//                  FINISHED, TIMED_OUT, with an offer_callback command;
//   away-and-kill  the same, but the daemon is killed as the gateway leaves and stays down for
//                  the maximum wait (every call waiting at the kill passes its maximum wait
//                  while no daemon runs; recovery finishes them).
// Then it lets the load settle, checks, stops the daemon with SIGTERM, starts it once more on the
// same database to compare the state digests, stops it, and checks the database.
//
// Every random choice comes from std::mt19937 seeded by --seed (or HOTLINE_CRASH_SEED), printed
// at the start and on failure; thread timing still varies from run to run. The checks never
// sleep for a timer: they wait on conditions with deadlines.
//
// Caller numbers are generated here and never printed: output names calls by call id only.
//
// Exit status: 0 when every check passed; 1 otherwise (or when the run could not be set up);
// 2 for bad flags.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/crash/checks.h"
#include "tests/crash/daemon_process.h"
#include "tests/crash/desk.h"
#include "tests/crash/gateway.h"
#include "tests/crash/support.h"

namespace hotline::crash {
namespace {

// The offer timeout and wrap-up time the daemon runs with: an offer left to ring, or a wrap-up
// whose disposition was lost with a killed daemon, holds a counsellor this long.
constexpr int kOfferTimeoutMs = 3000;
constexpr int kWrapUpMs = 5000;
// [supervision] view_calls: the checker reads live calls from the queue view, which must list
// every waiting call; 1,000 is the daemon's bound, so --calls is at most that.
constexpr int kViewCalls = 1000;

struct Options {
  std::string hotlined;
  std::string config;
  uint32_t seed = 0;
  std::string seed_from = "random";
  int kills = 4;
  int aways = 2;
  int calls = 300;
  int snapshot_every = 100;
  int max_wait_ms = 2500;
  bool keep = false;
};

void Usage() {
  std::cerr << "usage: crash_test --hotlined PATH --config PATH [--seed N] [--kills N] "
               "[--aways N] [--calls N] [--snapshot-every N] [--max-wait-ms N] [--keep] "
               "[--verbose]\n"
               "  The seed may also come from HOTLINE_CRASH_SEED; --seed wins.\n";
}

std::optional<long> ParseNumber(const std::string& flag, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
    std::cerr << "crash_test: " << flag << ": '" << v << "' is not a number from " << lo << " to "
              << hi << "\n";
    return std::nullopt;
  }
  return n;
}

std::optional<Options> ParseFlags(int argc, char** argv) {
  Options o;
  bool seed_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "crash_test: " << flag << " needs a value\n";
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    auto number = [&](long lo, long hi) -> std::optional<long> {
      auto v = value();
      return v ? ParseNumber(flag, *v, lo, hi) : std::nullopt;
    };
    auto set_int = [&](int& out, long lo, long hi) {
      auto n = number(lo, hi);
      if (n) {
        out = static_cast<int>(*n);
      }
      return n.has_value();
    };
    bool ok = true;
    if (flag == "--hotlined" || flag == "--config") {
      auto v = value();
      ok = v.has_value();
      if (ok) {
        (flag == "--hotlined" ? o.hotlined : o.config) = *v;
      }
    } else if (flag == "--seed") {
      auto n = number(0, 4294967295L);
      ok = n.has_value();
      if (ok) {
        o.seed = static_cast<uint32_t>(*n);
        o.seed_from = "--seed";
        seed_given = true;
      }
    } else if (flag == "--kills") {
      ok = set_int(o.kills, 0, 100);
    } else if (flag == "--aways") {
      ok = set_int(o.aways, 0, 100);
    } else if (flag == "--calls") {
      ok = set_int(o.calls, 1, kViewCalls);
    } else if (flag == "--snapshot-every") {
      ok = set_int(o.snapshot_every, 1, 100'000'000);
    } else if (flag == "--max-wait-ms") {
      ok = set_int(o.max_wait_ms, 100, 3'600'000);
    } else if (flag == "--keep") {
      o.keep = true;
    } else if (flag == "--verbose") {
      verbose = true;
    } else {
      std::cerr << "crash_test: unknown flag '" << flag << "'\n";
      ok = false;
    }
    if (!ok) {
      return std::nullopt;
    }
  }
  if (o.hotlined.empty() || o.config.empty()) {
    std::cerr << "crash_test: --hotlined and --config are required\n";
    return std::nullopt;
  }
  if (!seed_given) {
    if (const char* env = std::getenv("HOTLINE_CRASH_SEED"); env != nullptr && *env != '\0') {
      auto n = ParseNumber("HOTLINE_CRASH_SEED", env, 0, 4294967295L);
      if (!n) {
        return std::nullopt;
      }
      o.seed = static_cast<uint32_t>(*n);
      o.seed_from = "HOTLINE_CRASH_SEED";
    } else {
      o.seed = std::random_device()();
    }
  }
  return o;
}

// A fresh directory for the config, the database, the caller key and the daemon's log.
std::filesystem::path MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hotline-crash-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return {};
  }
  return tmpl;
}

// One disruption of the run.
struct Disruption {
  enum class Kind { kKill, kAway, kAwayAndKill };
  Kind kind = Kind::kKill;
  int at_arrival = 0;  // After this many arrivals ...
  Millis delay{0};     // ... and this much later (kill only).

  const char* Name() const {
    switch (kind) {
      case Kind::kKill:
        return "kill";
      case Kind::kAway:
        return "away";
      case Kind::kAwayAndKill:
        return "away-and-kill";
    }
    return "?";
  }
};

// `kills` kills and `aways` away episodes (alternately without and with a kill), in a seeded
// order, at seeded arrival counts while arrivals are between 10% and 90% done: one in each of
// equal slices of that span. Half of the kills strike right after that arrival was written
// (likely before its ack), the others a seeded moment later.
std::vector<Disruption> PlanDisruptions(int kills, int aways, int calls, std::mt19937& rng) {
  std::vector<Disruption::Kind> kinds(static_cast<size_t>(kills), Disruption::Kind::kKill);
  for (int a = 0; a < aways; ++a) {
    kinds.push_back(a % 2 == 0 ? Disruption::Kind::kAway : Disruption::Kind::kAwayAndKill);
  }
  std::shuffle(kinds.begin(), kinds.end(), rng);
  std::vector<Disruption> plan;
  const double slice = 0.8 * calls / std::max<size_t>(kinds.size(), 1);
  for (size_t k = 0; k < kinds.size(); ++k) {
    Disruption d;
    d.kind = kinds[k];
    const int from = static_cast<int>(0.1 * calls + static_cast<double>(k) * slice);
    d.at_arrival = Uniform(rng, from, std::max(from, static_cast<int>(from + slice) - 1));
    d.delay = Millis(Chance(rng, 0.5) ? 0 : Uniform(rng, 1, 250));
    plan.push_back(d);
  }
  return plan;
}

// What the disruptions did, for the report and the checks.
struct RunRecord {
  int kills = 0;
  int aways = 0;
  int restarts = 0;
  int restored_from_snapshot = 0;  // Restarts whose recovery began at a snapshot.
  int timed_out_while_away = 0;    // Held calls the database showed timed out while away.
  std::vector<std::string> problems;
  std::vector<std::string> daemon_errors;  // Error lines of every run of hotlined.
};

// Keeps the error lines hotlined logged in its last run (the next Start forgets them).
void CollectErrors(const DaemonProcess& daemon, RunRecord& record) {
  for (const auto& line : daemon.run().errors) {
    record.daemon_errors.push_back(line);
  }
}

// The daemon and what points at it, for the disruptions.
struct Rig {
  const Options& options;
  DaemonProcess& daemon;
  Target& target;
  Gateway& gateway;
  JournalWatcher& journal;
  RunRecord& record;
  SteadyClock::time_point up_since = SteadyClock::now();

  // SIGKILL; the journal watcher looks once more while no daemon runs.
  void Kill(const std::string& why) {
    const pid_t pid = daemon.pid();
    daemon.Kill();
    ++record.kills;
    CollectErrors(daemon, record);
    journal.Look();
    Say(why, ": SIGKILL to pid ", pid, " (", gateway.Brief(), ")");
  }

  // Starts the daemon again and re-points the clients. False when it did not start.
  bool Restart() {
    if (!daemon.Start()) {
      record.problems.push_back("hotlined did not start again after a kill");
      return false;
    }
    target.Set(daemon.grpc_address());
    up_since = SteadyClock::now();
    ++record.restarts;
    const RunLog run = daemon.run();
    const bool from_snapshot = run.recovery.find("from a snapshot") != std::string::npos;
    record.restored_from_snapshot += from_snapshot ? 1 : 0;
    Say("restarted: pid ", daemon.pid(), " at ", daemon.grpc_address(), "; ", run.recovery);
    return true;
  }

  // The gateway leaves (with the daemon, for kAwayAndKill) and comes back once a call it holds
  // is recorded timed out; its Welcome must say so.
  bool Away(int n, bool and_kill) {
    const Millis max_wait(options.max_wait_ms);
    ++record.aways;
    if (!gateway.GoAway(SteadyClock::now() + 10s)) {
      record.problems.push_back("away " + std::to_string(n) + ": the gateway's stream did not end");
    }
    const std::set<std::string> before =
        CallsWithOutcome(daemon.database_path(), "timed_out").value_or(std::set<std::string>());
    Say("away ", n, ": the gateway dropped its stream (", gateway.Brief(), ")");
    if (and_kill) {
      Kill("away " + std::to_string(n));
      // Nothing to observe while no daemon runs: the outage itself is the scenario. Every call
      // waiting at the kill passes its maximum wait before the restart.
      std::this_thread::sleep_for(max_wait + 300ms);
      if (!Restart()) {
        return false;
      }
    }
    // Wait, looking at the database, until a call the gateway holds is recorded timed out.
    const auto deadline = SteadyClock::now() + max_wait + 10s;
    std::set<std::string> timed_out;
    std::set<std::string> while_away;
    while (true) {
      const std::set<std::string> held = gateway.Held();
      const std::set<std::string> rows =
          CallsWithOutcome(daemon.database_path(), "timed_out").value_or(std::set<std::string>());
      timed_out.clear();
      std::set_intersection(held.begin(), held.end(), rows.begin(), rows.end(),
                            std::inserter(timed_out, timed_out.end()));
      while_away.clear();
      std::set_difference(timed_out.begin(), timed_out.end(), before.begin(), before.end(),
                          std::inserter(while_away, while_away.end()));
      if (!while_away.empty() || SteadyClock::now() > deadline) {
        break;
      }
      std::this_thread::sleep_for(kPollInterval / 2);
    }
    record.timed_out_while_away += static_cast<int>(while_away.size());
    Say("away ", n, ": ", while_away.size(), " held calls timed out while the gateway was away (",
        timed_out.size(), " held calls recorded timed out in all); saying hello again");
    if (!gateway.ComeBack(timed_out, while_away, SteadyClock::now() + kWelcomeDeadline + 5s)) {
      record.problems.push_back("away " + std::to_string(n) +
                                ": no Welcome after the gateway came back");
    }
    up_since = SteadyClock::now();  // The next disruption lets the gateway settle in first.
    return true;
  }

  // Runs the plan while the load runs. False when a restart failed.
  bool Disrupt(const std::vector<Disruption>& plan, SteadyClock::time_point deadline) {
    int aways = 0;
    for (size_t k = 0; k < plan.size(); ++k) {
      const Disruption& d = plan[k];
      gateway.WaitForArrivals(d.at_arrival, deadline);
      // Pacing the plan, not waiting for a timer: the daemon serves a while between disruptions.
      std::this_thread::sleep_until(std::max(up_since + kMinUptime, SteadyClock::now()) + d.delay);
      bool ok = true;
      switch (d.kind) {
        case Disruption::Kind::kKill:
          Kill("disruption " + std::to_string(k + 1) + "/" + std::to_string(plan.size()) +
               " (kill)");
          ok = Restart();
          break;
        case Disruption::Kind::kAway:
        case Disruption::Kind::kAwayAndKill:
          ok = Away(++aways, d.kind == Disruption::Kind::kAwayAndKill);
          break;
      }
      if (!ok) {
        return false;
      }
    }
    return true;
  }
};

// Looks every kPollInterval until the check passes, the deadline passes, or a failure has not
// changed for kStableFailure. Returns the last look and the gateway report it judged.
std::pair<Verdict, GatewayReport> CheckUntilSettled(const Checker& checker,
                                                    const Gateway& gateway) {
  const auto deadline = SteadyClock::now() + kSettleDeadline;
  std::string last_signature;
  auto stable_since = SteadyClock::now();
  while (true) {
    GatewayReport report = gateway.Report();
    Verdict verdict = checker.Look(report);
    if (verdict.Passed() && report.unacked == 0) {
      return {std::move(verdict), std::move(report)};
    }
    const auto now = SteadyClock::now();
    if (verdict.complete && verdict.Signature() != last_signature) {
      Debug("checker: lost=", verdict.lost.size(), " duplicated=", verdict.duplicated.size(),
            " revived=", verdict.revived.size(),
            " order=", verdict.order_violation.empty() ? "ok" : verdict.order_violation);
      last_signature = verdict.Signature();
      stable_since = now;
    }
    if (now > deadline || (verdict.complete && now - stable_since > kStableFailure)) {
      return {std::move(verdict), std::move(report)};
    }
    // Look again when the daemon next says something, or after kPollInterval at the latest
    // (a row may be written without a message to the gateway).
    gateway.AwaitNews(kPollInterval);
  }
}

// What the end of the run found: the two last runs of the daemon and the database.
struct Ending {
  int first_stop_status = -1;
  int digest_stop_status = -1;
  std::string shutdown_digest;
  std::string recovered_digest;
  std::string recovery;
  Verdict last_look;  // Checker::Look at the last run, right after its recovery.
};

std::string MapOf(const std::map<std::string, int>& m) {
  std::ostringstream os;
  for (const auto& [k, n] : m) {
    os << " " << k << "=" << n;
  }
  return os.str().empty() ? " none" : os.str();
}

// Prints what happened and the verdict; returns true when the run passed.
bool PrintResults(const Options& o, const Verdict& v, const GatewayReport& gateway,
                  const DeskReport& desks, const RunRecord& record, const Ending& end,
                  const JournalFindings& journal, const DatabaseFindings& db, int raw_numbers) {
  Say("gateway: arrivals=", gateway.arrivals, " events=", gateway.events_sent,
      " resent=", gateway.events_resent, " sessions=", gateway.sessions,
      " welcomes=", gateway.welcomes, " reconciled=", gateway.reconciled,
      " unacked=", gateway.unacked, "; its calls:", MapOf(gateway.finished));
  Say("gateway: Welcome fates:", MapOf(gateway.fates),
      "; timed out on hello=", gateway.timed_out_on_hello,
      " (while away=", gateway.timed_out_while_away, ")",
      "; final events acknowledged as already finished=", gateway.already_finished_acks,
      "; other events refused:", MapOf(gateway.other_refusals));
  Say("desks: sessions=", desks.sessions, " offers=", desks.offers, " accepted=", desks.accepted,
      " declined=", desks.declined, " ignored=", desks.ignored,
      " dispositions=", desks.dispositions, " refused:", MapOf(desks.refusals));
  Say("journal: ", journal.looks, " looks saw ", journal.records_seen, " of ", journal.last_seq,
      " records and ", journal.snapshots.size(), " snapshots; ", record.restored_from_snapshot,
      " of ", record.restarts, " restarts recovered from a snapshot");
  Say("database: ", db.rows, " calls rows (", db.completed, " completed), ",
      db.counsellor_intervals, " counsellor intervals checked");
  Say("digests: at shutdown ", end.shutdown_digest, ", after recovery ", end.recovered_digest, " (",
      end.recovery, ")");

  std::vector<std::string> failures;
  auto fail = [&](const std::string& what, const std::vector<std::string>& list) {
    if (!list.empty()) {
      failures.push_back(std::to_string(list.size()) + " " + what + ": " + ListOf(list));
    }
  };
  if (!v.complete) {
    failures.push_back("the database or the queue view could not be read while the daemon ran");
  }
  if (gateway.unacked > 0) {
    failures.push_back(std::to_string(gateway.unacked) + " events were never acknowledged");
  }
  fail("acknowledged calls lost (neither in calls nor in the queue)", v.lost);
  fail("duplicated", v.duplicated);
  fail("calls revived after their end was acknowledged", v.revived);
  fail("recorded calls without exactly one outcome", v.bad_outcome);
  if (!v.order_violation.empty()) {
    failures.push_back("waiting calls out of arrival order: " + v.order_violation);
  }
  fail("breaches of the reconciliation contract", gateway.contract_failures);
  fail("problems running the disruptions", record.problems);
  if (o.aways > 0 && record.timed_out_while_away == 0) {
    failures.push_back("no held call timed out while the gateway was away");
  }
  if (o.aways > 0 && gateway.timed_out_while_away < record.timed_out_while_away) {
    failures.push_back(std::to_string(record.timed_out_while_away) +
                       " calls timed out while the gateway was away, but only " +
                       std::to_string(gateway.timed_out_while_away) +
                       " were answered FINISHED TIMED_OUT with an offer_callback");
  }
  if (record.restarts > 0 && record.restored_from_snapshot == 0) {
    failures.push_back("no restart recovered from a snapshot");
  }
  fail("journal problems", journal.problems);
  if (!db.complete) {
    failures.push_back("the database could not be read after the last run");
  }
  fail("calls rows with bad times", db.bad_times);
  fail("counsellors on two calls at once", db.overlaps);
  fail("acknowledged calls not recorded exactly once (or still live)", db.bad_records);
  fail("calls recorded otherwise than they ended for the gateway", db.disagreements);
  if (end.first_stop_status != 0) {
    failures.push_back("hotlined exited with status " + std::to_string(end.first_stop_status) +
                       " after SIGTERM");
  }
  if (end.digest_stop_status != 0) {
    failures.push_back("hotlined (digest run) exited with status " +
                       std::to_string(end.digest_stop_status) + " after SIGTERM");
  }
  if (end.shutdown_digest.empty() || end.shutdown_digest != end.recovered_digest) {
    failures.push_back("the state recovered from the journal (" + end.recovered_digest +
                       ") is not the state at shutdown (" + end.shutdown_digest + ")");
  }
  const Verdict& last = end.last_look;
  if (!last.complete) {
    failures.push_back("the last run's database or queue view could not be read");
  }
  fail("acknowledged calls lost after the last recovery", last.lost);
  fail("duplicated after the last recovery", last.duplicated);
  fail("calls revived by the last recovery", last.revived);
  fail("recorded calls without exactly one outcome after the last recovery", last.bad_outcome);
  if (!last.order_violation.empty()) {
    failures.push_back("waiting calls out of arrival order after the last recovery: " +
                       last.order_violation);
  }
  fail("error lines in hotlined's log", record.daemon_errors);
  if (raw_numbers > 0) {
    failures.push_back(std::to_string(raw_numbers) +
                       " raw caller numbers reached the database or the daemon's log");
  }
  for (const auto& f : failures) {
    Say("FAIL: ", f);
  }

  const bool passed = failures.empty();
  std::cout << "seed=" << o.seed << " kills=" << record.kills << " aways=" << record.aways
            << " snapshots=" << journal.snapshots.size()
            << " restored_from_snapshot=" << record.restored_from_snapshot
            << " timed_out_while_away=" << gateway.timed_out_while_away
            << " acknowledged=" << v.acknowledged << " recorded=" << v.recorded
            << " still_live=" << v.still_live << " lost=" << v.lost.size()
            << " duplicated=" << v.duplicated.size()
            << " digests=" << (end.shutdown_digest == end.recovered_digest ? "equal" : "differ")
            << " elapsed=" << std::fixed << std::setprecision(1) << SecondsSinceStart() << "s "
            << (passed ? "PASS" : "FAIL") << std::endl;
  if (!passed) {
    std::cout << "FAILED with seed=" << o.seed << "; rerun: HOTLINE_CRASH_SEED=" << o.seed
              << " crash_test --hotlined " << o.hotlined << " --config " << o.config << " --keep"
              << std::endl;
  }
  return passed;
}

int Run(const Options& o) {
  Say("crash_test: seed=", o.seed, " (from ", o.seed_from, ") kills=", o.kills, " aways=", o.aways,
      " calls=", o.calls, " snapshot_every_records=", o.snapshot_every,
      " max_wait_ms=", o.max_wait_ms, " (rerun with --seed ", o.seed, ")");
  if (access(o.hotlined.c_str(), X_OK) != 0 || access(o.config.c_str(), R_OK) != 0) {
    Say("cannot run ", o.hotlined, " with ", o.config, ": ", std::strerror(errno));
    return 1;
  }
  const std::filesystem::path dir = MakeTempDir();
  if (dir.empty()) {
    Say("cannot create a temporary directory: ", std::strerror(errno));
    return 1;
  }
  Say("directory ", dir.string(), o.keep ? " (kept)" : "");
  struct Cleanup {
    const std::filesystem::path& dir;
    bool keep;
    ~Cleanup() {
      if (!keep) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    }
  } cleanup{dir, o.keep};
  const std::filesystem::path config = dir / "hotline.toml";
  if (!WriteConfig(o.config, config,
                   {{"storage", "snapshot_every_records", std::to_string(o.snapshot_every)},
                    {"routing", "max_wait_ms", std::to_string(o.max_wait_ms)},
                    {"routing", "offer_timeout_ms", std::to_string(kOfferTimeoutMs)},
                    {"routing", "wrap_up_ms", std::to_string(kWrapUpMs)},
                    {"supervision", "view_calls", std::to_string(kViewCalls)}})) {
    Say("cannot write ", config.string(), " from ", o.config);
    return 1;
  }

  DaemonProcess daemon(o.hotlined, config.string(), dir);
  if (!daemon.Start()) {
    return 1;
  }
  Target target;
  target.Set(daemon.grpc_address());
  Say("hotlined pid ", daemon.pid(), " ready at ", daemon.grpc_address());
  auto counsellors = CreateCounsellors(target);
  if (!counsellors) {
    return 1;
  }

  // Every seed comes from the master generator, drawn in a fixed order.
  std::mt19937 master(o.seed);
  std::vector<std::unique_ptr<Desk>> desks;
  for (const auto& [id, token] : *counsellors) {
    desks.push_back(std::make_unique<Desk>(target, id, token, master()));
  }
  Gateway gateway(target, o.calls, master());
  const std::vector<Disruption> plan = PlanDisruptions(o.kills, o.aways, o.calls, master);
  {
    std::ostringstream os;
    for (const auto& d : plan) {
      os << " " << d.Name() << "@" << d.at_arrival;
    }
    Say("plan:", os.str());
  }
  JournalWatcher journal(daemon.database_path());
  RunRecord record;

  journal.Start();
  for (auto& d : desks) {
    d->Start();
  }
  gateway.Start();
  const auto load_deadline = SteadyClock::now() + 3 * kLoadDuration + 60s;
  Rig rig{o, daemon, target, gateway, journal, record};
  if (!rig.Disrupt(plan, load_deadline)) {
    return 1;
  }
  gateway.WaitForArrivals(o.calls, load_deadline);
  Say("all ", o.calls, " arrivals made (", gateway.Brief(), "); settling");
  if (!gateway.WaitUntilSettled(SteadyClock::now() + kSettleDeadline)) {
    Say("not every event was acknowledged within ", kSettleDeadline.count(), " ms (",
        gateway.Brief(), ")");
  }
  const auto [verdict, report] =
      CheckUntilSettled(Checker(target, daemon.database_path()), gateway);
  Say("checked: ", verdict.Passed() ? "pass" : "fail", "; stopping the load");

  gateway.Stop();
  DeskReport desk_total;
  for (auto& d : desks) {
    d->Stop();
    desk_total.Add(d->Report());
  }
  Ending end;
  end.first_stop_status = daemon.Stop(15s);
  end.shutdown_digest = daemon.run().shutdown_digest;
  CollectErrors(daemon, record);
  Say("hotlined exited with status ", end.first_stop_status, " after SIGTERM; state digest ",
      end.shutdown_digest);
  journal.Look();

  // Once more on the same database: the state rebuilt from the journal must be the state it
  // shut down with.
  if (daemon.Start()) {
    target.Set(daemon.grpc_address());
    const RunLog run = daemon.run();
    end.recovered_digest = run.recovered_digest;
    end.recovery = run.recovery;
    // The same consistent look as while the load ran, on what recovery rebuilt.
    end.last_look = Checker(target, daemon.database_path()).Look(report);
    end.digest_stop_status = daemon.Stop(15s);
    CollectErrors(daemon, record);
    Say("digest run: recovered ", end.recovered_digest, "; ", end.last_look.live.size(),
        " calls live; exited with status ", end.digest_stop_status);
  }
  journal.Stop();
  journal.Look();

  const DatabaseFindings db = CheckDatabase(daemon.database_path(), report, end.last_look.live);
  const int raw_numbers = RawNumbersOnDisk(dir, gateway.CallerDigits());
  const bool passed = PrintResults(o, verdict, report, desk_total, record, end, journal.Findings(),
                                   db, raw_numbers);
  if (!passed && !o.keep) {
    Say("the run's directory is removed; rerun with --keep to look at its database and log");
  }
  return passed ? 0 : 1;
}

}  // namespace
}  // namespace hotline::crash

int main(int argc, char** argv) {
  // A stream write to a daemon that was just killed must fail, not kill us.
  signal(SIGPIPE, SIG_IGN);
  auto options = hotline::crash::ParseFlags(argc, argv);
  if (!options) {
    hotline::crash::Usage();
    return 2;
  }
  return hotline::crash::Run(*options);
}
