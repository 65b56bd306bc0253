#include "clients/sim/sim_desks.h"

#include <fmt/format.h>

#include <cmath>
#include <thread>
#include <utility>

#include "clients/common/client.h"
#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;

// After a missed-offers or unreachable break a simulated counsellor is back this much later
// (simulated time), as in virtual time.
constexpr double kBackFromBreakS = 60;
// How long Start waits for every desk to be AVAILABLE.
constexpr std::chrono::seconds kSignInTimeout{20};

}  // namespace

struct SimDesks::Desk {
  std::string id;
  std::unique_ptr<Server> server;
  grpc::ClientContext watch_context;
  std::unique_ptr<grpc::ClientReader<v1::DeskEvent>> watch;
  std::thread reader;
  bool created = false;
  // The call in wrap-up, if any: Stop records it before signing the desk out.
  std::string wrap_up_call ABSL_GUARDED_BY(mutex);
  bool on_shift ABSL_GUARDED_BY(mutex) = false;
  std::vector<std::pair<sim::Timestamp, sim::Timestamp>> shifts;
  absl::Mutex mutex;
};

SimDesks::SimDesks(std::string server, std::string admin_token, const sim::Scenario& scenario,
                   double time_scale, std::string prefix, PresenceHook on_presence)
    : server_(std::move(server)),
      admin_token_(std::move(admin_token)),
      scenario_(scenario),
      time_scale_(time_scale),
      prefix_(std::move(prefix)),
      on_presence_(std::move(on_presence)),
      // Its own stream, as in virtual time: the desks' delays never shift the calls.
      random_(scenario.seed ^ 0x9e3779b97f4a7c15ULL) {}

SimDesks::~SimDesks() { Stop(); }

absl::Status SimDesks::Start() {
  int on_shift = 0;
  for (const sim::CounsellorGroup& group : scenario_.counsellors) {
    const auto shifts = sim::ShiftIntervals(scenario_, group);
    const bool at_start = !shifts.empty() && shifts.front().first == scenario_.start;
    for (const std::string& id : sim::CounsellorIds(group)) {
      auto desk = std::make_unique<Desk>();
      desk->id = prefix_ + id;
      desk->shifts = shifts;
      desk->on_shift = at_start;
      on_shift += at_start ? 1 : 0;
      desks_.push_back(std::move(desk));
    }
  }
  for (auto& desk : desks_) {
    if (absl::Status s = Create(*desk); !s.ok()) {
      return s;
    }
  }
  for (auto& desk : desks_) {
    desk->server->Prepare(desk->watch_context);
    v1::DeskService::Stub stub(desk->server->channel());
    desk->watch = stub.Watch(&desk->watch_context, v1::WatchDeskRequest());
    desk->reader = std::thread([this, d = desk.get()] { WatchLoop(*d); });
  }
  const auto ready = [this, on_shift]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return open_ >= static_cast<int>(desks_.size()) && available_ >= on_shift;
  };
  absl::MutexLock lock(&mutex_);
  if (!mutex_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(kSignInTimeout.count()))) {
    return absl::DeadlineExceededError(fmt::format(
        "{} of {} simulated desks open and {} of {} on shift AVAILABLE after {} s", open_,
        desks_.size(), available_, on_shift, kSignInTimeout.count()));
  }
  return absl::OkStatus();
}

void SimDesks::FollowShifts(std::chrono::steady_clock::time_point run_start) {
  const auto real = [&](sim::Timestamp t) {
    const double ms = static_cast<double>((t - scenario_.start).count()) / time_scale_;
    return run_start + std::chrono::milliseconds(std::llround(ms));
  };
  const sim::Timestamp end = scenario_.start + scenario_.duration;
  for (auto& desk : desks_) {
    for (const auto& [on, off] : desk->shifts) {
      if (on > scenario_.start) {
        timers_.At(real(on), [this, d = desk.get()] { ShiftStarts(*d); });
      }
      if (off < end) {
        timers_.At(real(off), [this, d = desk.get()] { ShiftEnds(*d); });
      }
    }
  }
}

bool SimDesks::OnShift(Desk& desk) {
  absl::MutexLock lock(&desk.mutex);
  return desk.on_shift;
}

void SimDesks::ShiftStarts(Desk& desk) {
  {
    absl::MutexLock lock(&desk.mutex);
    desk.on_shift = true;
  }
  SetAvailable(desk);
}

void SimDesks::ShiftEnds(Desk& desk) {
  {
    absl::MutexLock lock(&desk.mutex);
    desk.on_shift = false;
  }
  // Refused while an offer rings or a call is held: the counsellor signs out after recording it
  // (Dispose), or when the daemon makes them AVAILABLE again (WatchLoop).
  (void)SetPresence(desk, v1::COUNSELLOR_STATE_OFFLINE);
}

absl::Status SimDesks::Create(Desk& desk) {
  const sim::CounsellorGroup* group = nullptr;
  for (const sim::CounsellorGroup& g : scenario_.counsellors) {
    if (desk.id.starts_with(prefix_ + g.id)) {
      group = &g;
    }
  }
  v1::CreateCounsellorRequest request;
  v1::Counsellor& c = *request.mutable_counsellor();
  c.set_counsellor_id(desk.id);
  c.set_display_name(desk.id);
  // The daemon needs a home province: the group's, else its first served, else where most
  // calls come from.
  std::string home = group->home_province;
  if (home.empty()) {
    home = group->provinces.empty() ? scenario_.provinces.values.front() : group->provinces[0];
  }
  c.set_home_province(home);
  for (const std::string& p : group->provinces) {
    c.add_provinces(p);
  }
  for (const auto& [topic, level] : group->skills) {
    v1::TopicSkill& skill = *c.add_skills();
    skill.set_topic(static_cast<v1::Topic>(static_cast<int>(topic)));
    skill.set_proficiency(level);
  }
  for (const std::string& language : group->languages) {
    c.add_languages(language);
  }
  c.set_gender(static_cast<v1::Gender>(static_cast<int>(group->gender)));
  c.set_endpoint("sip:" + desk.id + "@hotline-sim");
  const Server admin(server_, admin_token_);
  v1::CreateCounsellorResponse response;
  const grpc::Status status =
      admin.Call(&v1::AdminService::Stub::CreateCounsellor, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        fmt::format("creating counsellor {}: {}", desk.id, status.error_message()));
  }
  desk.created = true;
  desk.server = std::make_unique<Server>(server_, response.token());
  return absl::OkStatus();
}

void SimDesks::WatchLoop(Desk& desk) {
  v1::DeskEvent event;
  bool first = true;
  while (desk.watch->Read(&event)) {
    if (first) {
      // The first event proves the Watch is open, which going AVAILABLE requires.
      first = false;
      {
        absl::MutexLock lock(&mutex_);
        ++open_;
      }
      if (OnShift(desk)) {
        timers_.At(TimerThread::Clock::now(), [this, &desk] { SetAvailable(desk); });
      }
    }
    switch (event.kind_case()) {
      case v1::DeskEvent::kOffer: {
        const std::string call_id = event.offer().call().call_id();
        {
          absl::MutexLock lock(&mutex_);
          ++offers_;
        }
        timers_.At(TimerThread::Clock::now() + Scaled(scenario_.accept_delay),
                   [this, &desk, call_id] { Accept(desk, call_id); });
        break;
      }
      case v1::DeskEvent::kWrapUpStarted: {
        const std::string call_id = event.wrap_up_started().call_id();
        {
          absl::MutexLock lock(&desk.mutex);
          desk.wrap_up_call = call_id;
        }
        timers_.At(TimerThread::Clock::now() + Scaled(scenario_.wrap_up),
                   [this, &desk, call_id] { Dispose(desk, call_id); });
        break;
      }
      case v1::DeskEvent::kPresenceChanged: {
        const v1::CounsellorStatus& status = event.presence_changed().status();
        if (on_presence_ && status.state() != v1::COUNSELLOR_STATE_UNSPECIFIED) {
          // Numbered alike (routing/types.h).
          on_presence_(desk.id, static_cast<routing::CounsellorState>(status.state()),
                       std::chrono::steady_clock::now());
        }
        if (status.state() == v1::COUNSELLOR_STATE_AVAILABLE && !OnShift(desk)) {
          // Out of a call after the shift ended (the daemon closed the wrap-up itself).
          timers_.At(TimerThread::Clock::now(), [this, &desk] { ShiftEnds(desk); });
        } else if (status.state() == v1::COUNSELLOR_STATE_BREAK && OnShift(desk) &&
                   (status.break_reason() == v1::BREAK_REASON_MISSED_OFFERS ||
                    status.break_reason() == v1::BREAK_REASON_UNREACHABLE)) {
          const auto back = std::chrono::milliseconds(
              std::llround(kBackFromBreakS * 1000 / time_scale_));
          timers_.At(TimerThread::Clock::now() + back, [this, &desk] { SetAvailable(desk); });
        }
        break;
      }
      default:
        break;
    }
  }
}

grpc::Status SimDesks::SetPresence(Desk& desk, v1::CounsellorState state) {
  v1::SetPresenceRequest request;
  request.set_request_id(NewRequestId());
  request.set_state(state);
  v1::SetPresenceResponse response;
  return desk.server->Call(&v1::DeskService::Stub::SetPresence, request, &response);
}

void SimDesks::SetAvailable(Desk& desk) {
  const grpc::Status status = SetPresence(desk, v1::COUNSELLOR_STATE_AVAILABLE);
  absl::MutexLock lock(&mutex_);
  if (status.ok()) {
    ++available_;
  } else {
    ++refused_;
  }
}

void SimDesks::Accept(Desk& desk, const std::string& call_id) {
  v1::AnswerOfferRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.set_accept(true);
  v1::AnswerOfferResponse response;
  // NOT_FOUND when the offer went meanwhile (the caller hung up, it timed out): a race the
  // scenario allows, counted.
  const grpc::Status status =
      desk.server->Call(&v1::DeskService::Stub::AnswerOffer, request, &response);
  absl::MutexLock lock(&mutex_);
  ++(status.ok() ? accepted_ : refused_);
}

void SimDesks::Dispose(Desk& desk, const std::string& call_id) {
  {
    absl::MutexLock lock(&desk.mutex);
    if (desk.wrap_up_call != call_id) {
      return;  // Recorded already (by Stop).
    }
    desk.wrap_up_call.clear();
  }
  v1::SubmitDispositionRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.mutable_disposition()->set_category(v1::CATEGORY_OTHER);
  request.mutable_disposition()->set_action(v1::ACTION_COUNSELLED);
  // After its shift, or once Stop has stopped the timers, a desk goes on a break rather than
  // back to the queue, then signs out.
  const bool ready = OnShift(desk) && !stopped_;
  request.set_ready_for_next(ready);
  v1::SubmitDispositionResponse response;
  const grpc::Status status =
      desk.server->Call(&v1::DeskService::Stub::SubmitDisposition, request, &response);
  if (!ready && !stopped_) {
    (void)SetPresence(desk, v1::COUNSELLOR_STATE_OFFLINE);
  }
  absl::MutexLock lock(&mutex_);
  ++(status.ok() ? disposed_ : refused_);
}

std::chrono::milliseconds SimDesks::Scaled(const sim::Distribution& d) {
  absl::MutexLock lock(&mutex_);
  const double ms = static_cast<double>(random_.Draw(d).count()) / time_scale_;
  return std::chrono::milliseconds(std::llround(ms));
}

void SimDesks::Stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  timers_.Stop();
  const Server admin(server_, admin_token_);
  for (auto& desk : desks_) {
    if (desk->watch) {
      SignOut(*desk);
      desk->watch_context.TryCancel();
      desk->reader.join();
      (void)desk->watch->Finish();
    }
    if (desk->created) {
      v1::RemoveCounsellorRequest request;
      request.set_counsellor_id(desk->id);
      v1::RemoveCounsellorResponse response;
      (void)admin.Call(&v1::AdminService::Stub::RemoveCounsellor, request, &response);
    }
  }
}

void SimDesks::SignOut(Desk& desk) {
  // A call ended just now reaches the desk as a wrap-up a moment later: while the daemon says the
  // counsellor is busy, record what is in wrap-up and try again, for a few seconds at most.
  constexpr int kAttempts = 50;
  constexpr std::chrono::milliseconds kPause{100};
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string wrap_up_call;
    {
      absl::MutexLock lock(&desk.mutex);
      wrap_up_call = desk.wrap_up_call;
    }
    if (!wrap_up_call.empty()) {
      Dispose(desk, wrap_up_call);
    }
    const grpc::Status status = SetPresence(desk, v1::COUNSELLOR_STATE_OFFLINE);
    if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      return;  // Signed out, or refused for a reason waiting cannot mend.
    }
    std::this_thread::sleep_for(kPause);
  }
}

std::string SimDesks::Summary() const {
  absl::MutexLock lock(&mutex_);
  return fmt::format("{} desks: {} offers, {} accepted, {} dispositions, {} answers refused",
                     desks_.size(), offers_, accepted_, disposed_, refused_);
}

}  // namespace hotline::clients
