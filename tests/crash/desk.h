// The crash test's counsellors: one desk each, over the shared DeskConnection of
// tests/testing/clients.h, reconnecting whenever the daemon goes away; and their creation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hotline/v1/admin.grpc.pb.h"
#include "tests/crash/support.h"
#include "tests/testing/clients.h"

namespace hotline::crash {

struct DeskReport {
  int sessions = 0;
  int offers = 0;
  int accepted = 0;
  int declined = 0;
  int ignored = 0;
  int dispositions = 0;
  std::map<std::string, int> refusals;  // By status code name.

  void Add(const DeskReport& r) {
    sessions += r.sessions;
    offers += r.offers;
    accepted += r.accepted;
    declined += r.declined;
    ignored += r.ignored;
    dispositions += r.dispositions;
    for (const auto& [code, n] : r.refusals) {
      refusals[code] += n;
    }
  }
};

// One counsellor's desk: keeps a Watch open (reconnecting with backoff), goes AVAILABLE whenever
// it finds itself OFFLINE or on BREAK, answers offers after a short think (mostly accepting,
// sometimes declining or letting them ring out) and records the outcome at wrap-up. Events are
// handled on the desk's own thread, one at a time, as a person would. Each session is a new
// DeskConnection with its own request-id prefix, so a request of a new session is never taken
// for the repeat of an old one. Thread-safe.
class Desk {
 public:
  Desk(const Target& target, std::string counsellor_id, std::string token, uint32_t seed)
      : target_(target), id_(std::move(counsellor_id)), token_(std::move(token)), rng_(seed) {}
  ~Desk() { Stop(); }
  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.IsSet()) {
        RunSession();
        if (!stop_.SleepFor(Millis(Uniform(rng_, 50, 200)))) {
          return;
        }
      }
    });
  }

  void Stop() {
    stop_.Set();
    {
      std::lock_guard lock(mu_);
      if (live_ != nullptr) {
        live_->Cancel();
      }
    }
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  DeskReport Report() const {
    std::lock_guard lock(mu_);
    return report_;
  }

 private:
  void RunSession() {
    auto conn = std::make_unique<testing::DeskConnection>(
        target_.NewChannel(), token_, id_ + "-s" + std::to_string(++session_) + "-", kRpcDeadline);
    {
      std::lock_guard lock(mu_);
      if (stop_.IsSet()) {
        return;
      }
      live_ = conn.get();
    }
    bool first = true;
    while (true) {
      auto event = conn->inbox.Pop(1s);
      if (!event) {
        continue;  // Stop cancels the Watch, so the end marker comes.
      }
      if (testing::IsEndOfStream(*event)) {
        break;
      }
      if (first) {
        Count([](DeskReport& r) { ++r.sessions; });
      }
      OnEvent(*conn, *event, first);
      first = false;
    }
    {
      std::lock_guard lock(mu_);
      live_ = nullptr;
    }
    Debug("desk ", id_, ": watch ended: ", Describe(conn->final_status));
  }

  void OnEvent(testing::DeskConnection& desk, const v1::DeskEvent& event, bool first) {
    switch (event.kind_case()) {
      case v1::DeskEvent::kPresenceChanged: {
        const v1::CounsellorStatus& status = event.presence_changed().status();
        switch (status.state()) {
          case v1::COUNSELLOR_STATE_OFFLINE:
          case v1::COUNSELLOR_STATE_BREAK:
            Check("SetPresence(AVAILABLE)", desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE));
            break;
          case v1::COUNSELLOR_STATE_RESERVED:
            // After a reconnect the offer may ring without a new OfferEvent: take it.
            if (first && !status.call_id().empty()) {
              Answer(desk, status.call_id(), true);
            }
            break;
          case v1::COUNSELLOR_STATE_WRAP_UP:
            if (!status.call_id().empty()) {
              Dispose(desk, status.call_id());
            }
            break;
          default:
            break;
        }
        break;
      }
      case v1::DeskEvent::kOffer: {
        Count([](DeskReport& r) { ++r.offers; });
        // An ignored offer holds the call and the counsellor for the whole offer timeout:
        // rare, or nothing else gets done.
        const int dice = Uniform(rng_, 1, 100);
        if (dice <= 90) {
          Answer(desk, event.offer().call().call_id(), true);
        } else if (dice <= 98) {
          Answer(desk, event.offer().call().call_id(), false);
        } else {
          Count([](DeskReport& r) { ++r.ignored; });  // Let it ring out.
        }
        break;
      }
      case v1::DeskEvent::kWrapUpStarted:
        Dispose(desk, event.wrap_up_started().call_id());
        break;
      default:
        break;
    }
  }

  void Answer(testing::DeskConnection& desk, const std::string& call_id, bool accept) {
    if (!stop_.SleepFor(Millis(Uniform(rng_, 20, 200)))) {
      return;  // A person's moment of thought, not a wait for the daemon.
    }
    if (Check(accept ? "AnswerOffer(accept)" : "AnswerOffer(decline)",
              desk.Answer(call_id, accept))) {
      Count([accept](DeskReport& r) { ++(accept ? r.accepted : r.declined); });
    }
  }

  void Dispose(testing::DeskConnection& desk, const std::string& call_id) {
    if (disposed_.count(call_id) > 0) {
      return;  // Both the WRAP_UP presence and WrapUpStarted announce it.
    }
    if (!stop_.SleepFor(Millis(Uniform(rng_, 20, 150)))) {
      return;
    }
    v1::Disposition d;
    d.set_category(v1::CATEGORY_OTHER);
    d.set_action(v1::ACTION_COUNSELLED);
    // Only a disposition that went through counts: one lost with a killed daemon is submitted
    // again when the desk, reconnected, finds itself still in wrap-up.
    if (Check("SubmitDisposition", desk.Dispose(call_id, d, true))) {
      disposed_.insert(call_id);
      Count([](DeskReport& r) { ++r.dispositions; });
    }
  }

  // Refusals are expected around restarts (FAILED_PRECONDITION, NOT_FOUND, UNAVAILABLE): they
  // are counted and, with --verbose, logged; none fails the test.
  bool Check(const char* what, const grpc::Status& s) {
    if (s.ok()) {
      return true;
    }
    Count([&](DeskReport& r) { ++r.refusals[CodeName(s.error_code())]; });
    Debug("desk ", id_, ": ", what, ": ", Describe(s));
    return false;
  }

  void Count(const std::function<void(DeskReport&)>& f) {
    std::lock_guard lock(mu_);
    f(report_);
  }

  const Target& target_;
  const std::string id_;
  const std::string token_;
  StopFlag stop_;
  // Used only on the desk's thread.
  std::mt19937 rng_;
  std::set<std::string> disposed_;
  int session_ = 0;

  mutable std::mutex mu_;
  DeskReport report_;  // Guarded by mu_, like live_.
  testing::DeskConnection* live_ = nullptr;
  std::thread thread_;
};

// Creates the counsellors (once per run: they live in the database across restarts) and
// returns their ids and desk tokens.
inline std::optional<std::vector<std::pair<std::string, std::string>>> CreateCounsellors(
    const Target& target) {
  auto admin = v1::AdminService::NewStub(target.NewChannel());
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i <= kCounsellors; ++i) {
    const std::string id = "crash-c" + std::to_string(i);
    grpc::ClientContext ctx;
    testing::Authorize(ctx, kAdminToken);
    SetDeadline(ctx);
    v1::CreateCounsellorRequest req;
    auto* c = req.mutable_counsellor();
    c->set_counsellor_id(id);
    c->set_display_name("Crash counsellor " + std::to_string(i));
    c->set_home_province(kProvince);
    auto* skill = c->add_skills();
    skill->set_topic(v1::TOPIC_COUNSELLING);
    skill->set_proficiency(3);
    c->add_languages("vi");
    c->set_endpoint("sip:" + id + "@pbx");
    v1::CreateCounsellorResponse resp;
    const grpc::Status s = admin->CreateCounsellor(&ctx, req, &resp);
    if (!s.ok()) {
      Say("CreateCounsellor ", id, ": ", Describe(s));
      return std::nullopt;
    }
    out.emplace_back(id, resp.token());
  }
  return out;
}

}  // namespace hotline::crash
