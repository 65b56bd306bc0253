// The full-screen desk's state: what the counsellor sees, built only from the Watch stream's
// DeskEvents, the answers to the desk's own requests, and the keys pressed. Pure: no I/O, no
// clock (time is passed in), no terminal, so every step of a call can be tested without a daemon
// or a screen. The renderer (desk_screen.h) draws it; the app (desk_app.h) feeds it and makes the
// requests its keys ask for.
//
// A disposition is never lost: a wrap-up form stays open until the daemon records it, whatever
// the presence says, and a form past its deadline is still sent (the daemon records it as late).
//
// Not thread-safe: one owner (the app's screen thread).
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clients/desk/lang.h"
#include "clients/desk/taxonomy.h"
#include "hotline/v1/desk.pb.h"

namespace hotline::clients::desk {

using TimePoint = std::chrono::system_clock::time_point;

// The daemon's limit on a disposition's note, in bytes of UTF-8.
inline constexpr size_t kMaxNoteBytes = 2000;
// How often the shift figures are fetched again while nothing else asks for them.
inline constexpr std::chrono::seconds kFiguresEvery{60};
// How soon they are asked again when the daemon was busy with another desk's.
inline constexpr std::chrono::seconds kFiguresBusyRetry{1};
// How soon they are asked again after a daemon that has answered them before let a request's
// deadline pass (a slow moment, not an older daemon).
inline constexpr std::chrono::seconds kFiguresTimeoutRetry{5};

// A key, as the terminal layer reports it (the model knows nothing of curses).
struct Key {
  enum class Kind { kChar, kEnter, kTab, kBackTab, kUp, kDown, kBackspace, kEscape, kOther };
  Kind kind = Kind::kOther;
  // kChar: the character typed.
  char32_t ch = 0;

  static Key Char(char32_t c) { return Key{Kind::kChar, c}; }
  static Key Of(Kind kind) { return Key{kind, 0}; }
};

// What a key asks the app to do with the daemon.
struct Request {
  enum class Kind { kNone, kSetPresence, kAnswer, kSubmit, kNeverRoute, kQuit };
  Kind kind = Kind::kNone;
  // kSetPresence.
  hotline::v1::CounsellorState state = hotline::v1::COUNSELLOR_STATE_UNSPECIFIED;
  // kSetPresence with BREAK: the reason the counsellor named (UNSPECIFIED: none).
  hotline::v1::BreakReason break_reason = hotline::v1::BREAK_REASON_UNSPECIFIED;
  // kAnswer, kSubmit, kNeverRoute.
  std::string call_id;
  // kAnswer.
  bool accept = false;
  // kAnswer: which offer it answers (RingingOffer::seq). The same call may ring again at once
  // after a decline (nobody else can take it): the answer must not clear that new offer.
  int offer_seq = 0;
  // kSubmit.
  hotline::v1::Disposition disposition;
  bool ready_for_next = true;
};

// The request id of each call's disposition that got no answer (the daemon may have recorded it
// and the answer been lost): sent again, edited or not, it goes under the same id, so the daemon
// answers a recorded one as it did the first time, instead of refusing a second disposition for
// the call ("owes it no disposition") and leaving its form open for good. The first send to reach
// the daemon is what it records: an edited resend answered OK may not be what was recorded, and
// the desk says so. Only the answers the daemon remembers under the id (OK, NOT_FOUND,
// FAILED_PRECONDITION: EngineHost::Answer) free it; a refusal before the request was looked at
// (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED: never remembered)
// leaves it as it was; anything else (no answer, a broken stream) may have been recorded.
class DispositionIds {
 public:
  // The id to send call `call_id`'s disposition under: the unanswered one, or `fresh`.
  std::string For(const std::string& call_id, std::string fresh) const {
    auto it = unanswered_.find(call_id);
    return it == unanswered_.end() ? std::move(fresh) : it->second.id;
  }
  // The send of `call_id` (`sent`: serialized without its id) under `request_id` got gRPC status
  // `code`. True when an OK answer may stand for an earlier, different send under the same id.
  bool Sent(const std::string& call_id, const std::string& request_id, const std::string& sent,
            int code) {
    auto it = unanswered_.find(call_id);
    const bool kept = it != unanswered_.end() && it->second.id == request_id;
    if (code == 0 || code == 5 || code == 9) {  // OK, NOT_FOUND, FAILED_PRECONDITION.
      const bool earlier_differs = kept && it->second.sent != sent;
      if (kept) {
        unanswered_.erase(it);
      }
      return code == 0 && earlier_differs;
    }
    const bool looked_at = code != 3 && code != 7 && code != 8 && code != 16;
    if (looked_at && it == unanswered_.end()) {
      unanswered_[call_id] = Unanswered{request_id, sent};  // The first send is what may stand.
    }
    return false;
  }

 private:
  struct Unanswered {
    std::string id;
    std::string sent;
  };
  std::map<std::string, Unanswered> unanswered_;
};

// A question the bottom line asks before a key takes effect: Y confirms, any other key cancels;
// kBreakReason takes 1-5 for a named reason or Enter for none.
enum class Question { kNone, kQuit, kNeverRoute, kBreakReason };

// The reasons a counsellor names for a break, in the order of their keys 1-5.
inline constexpr std::array<hotline::v1::BreakReason, 5> kNamedBreaks = {
    hotline::v1::BREAK_REASON_REST, hotline::v1::BREAK_REASON_MEAL,
    hotline::v1::BREAK_REASON_TRAINING, hotline::v1::BREAK_REASON_DEBRIEF,
    hotline::v1::BREAK_REASON_FOLLOW_UP};

// The parts of the wrap-up form, in Tab order.
enum class Section { kCategory, kAction, kFlags, kHeavy, kNote };

// The disposition being written for one call.
struct WrapUpForm {
  std::string call_id;
  // What the desk knew of the call (absent when the desk started during its wrap-up).
  std::optional<hotline::v1::CallSummary> call;
  // Absent when the desk learnt of the wrap-up from its presence only.
  std::optional<TimePoint> deadline;
  Section focus = Section::kCategory;
  // The highlighted row of each list, and what was picked (indexes into the taxonomy's lists).
  int category_cursor = 0;
  int action_cursor = 0;
  int flag_cursor = 0;
  std::optional<int> category;
  std::optional<int> action;
  std::vector<bool> flags;
  bool heavy = false;
  std::string note;

  // True once the deadline has passed: the daemon will record the disposition as late.
  bool Late(TimePoint now) const { return deadline.has_value() && now >= *deadline; }
};

// The offer ringing on the desk.
struct RingingOffer {
  hotline::v1::OfferEvent offer;
  TimePoint arrived_at;
  TimePoint expires_at;
  int seq = 0;  // The offers_rung() count when it rang: this offer, not another of its call.
};

// The call the counsellor accepted, until its wrap-up starts.
struct CurrentCall {
  std::string call_id;
  std::optional<hotline::v1::CallSummary> summary;
  // From CallConnected's `at`; absent while the gateway connects.
  std::optional<TimePoint> connected_at;
  // When the caller arrived, when known.
  std::optional<TimePoint> arrived_at;
  // A repeat caller's history, from the offer.
  std::optional<hotline::v1::CallerHistory> history;
};

// The Watch stream as the screen shows it.
struct Connection {
  // hotlined's address, named while reconnecting.
  std::string address;
  // True from the first event of a Watch until it drops.
  bool open = false;
  // When the next attempt is due, while reconnecting.
  std::optional<TimePoint> retry_at;
  // Set when the desk stopped trying (another desk took over): the words why.
  std::string stopped;
};

// A line for the status area: an error from the daemon or a word about what just happened.
// Both languages are kept, so switching language redraws it too; a daemon's message is the same
// in both.
struct Notice {
  std::string vi;
  std::string en;
  bool error = false;

  const std::string& Text(Lang lang) const { return lang == Lang::kVi ? vi : en; }
};

class DeskModel final {
 public:
  DeskModel(Taxonomy taxonomy, Lang lang, std::string address);

  // --- From the Watch stream (the app's reader thread hands them over in order).
  void Apply(const hotline::v1::DeskEvent& event);
  // The Watch dropped; the next attempt is at `retry_at`. `why` is the error's words. A ringing
  // offer is gone with it (the daemon withdraws it).
  void OnWatchLost(const std::string& why, TimePoint retry_at);
  // The desk stopped trying, e.g. another desk signed in with this token.
  void OnWatchStopped(const std::string& why);

  // --- Answers to the requests keys asked for. `error` is empty on success, else the words.
  void OnPresenceAnswer(const hotline::v1::CounsellorStatus& status);
  // A SetPresence or SubmitDisposition failed: `error` in words. A form stays as it was.
  void OnRequestFailed(const std::string& error);
  void OnAnswerOffer(const Request& request, const std::string& error, bool offer_gone);
  void OnSubmitted(const Request& request, const hotline::v1::SubmitDispositionResponse& response);
  // After OnSubmitted: the OK may stand for an earlier send of the form, before it was changed.
  void OnEarlierVersionMayStand(const std::string& call_id);
  // The answer to NeverRouteCaller: `error` empty on success, else the words.
  void OnNeverRouted(const Request& request, const std::string& error);
  // The figures were asked for: not due again until they are answered or a minute has passed.
  void OnFiguresAsked(TimePoint now);
  void OnFigures(const hotline::v1::ShiftFiguresResponse& figures, TimePoint now);
  // The daemon does not answer ShiftFigures (an older hotlined): the panel says so.
  void OnFiguresUnavailable(TimePoint now);
  void OnFiguresFailed(const std::string& error, TimePoint now);
  // The request's deadline passed. A daemon that has answered them before was slow: the figures
  // shown stay, without a word, and are asked again kFiguresTimeoutRetry later. A daemon that
  // never answered them, or lets the deadline pass twice running, is taken for an older one
  // (an asynchronous server that never takes the call): OnFiguresUnavailable.
  void OnFiguresTimedOut(TimePoint now);
  // The daemon was reading another desk's figures (RESOURCE_EXHAUSTED): asked again a second
  // later, without a word on the screen.
  void OnFiguresBusy(TimePoint now);
  void ShowError(const std::string& text);
  void ShowInfo(std::string vi, std::string en);

  // --- Keys. Changes what only the screen holds (cursor, form, language) and returns what the
  // app should ask the daemon, if anything.
  Request OnKey(Key key);

  // True when the shift figures should be fetched now: never fetched, a call has just finished,
  // or kFiguresEvery has passed.
  bool FiguresDue(TimePoint now) const;

  // --- For the renderer.
  Lang lang() const { return lang_; }
  const Taxonomy& taxonomy() const { return taxonomy_; }
  const Connection& connection() const { return connection_; }
  // Absent until the first presence event.
  const std::optional<hotline::v1::CounsellorStatus>& status() const { return status_; }
  const std::string& display_name() const { return display_name_; }
  const std::optional<RingingOffer>& offer() const { return offer_; }
  const std::optional<CurrentCall>& call() const { return call_; }
  // The form shown, if any: the newest in-time one first, late ones after.
  const WrapUpForm* form() const { return forms_.empty() ? nullptr : &forms_.front(); }
  size_t forms_waiting() const { return forms_.size(); }
  const std::optional<hotline::v1::ShiftFiguresResponse>& figures() const { return figures_; }
  bool figures_unavailable() const { return figures_unavailable_; }
  const Notice& notice() const { return notice_; }
  Question question() const { return question_; }
  bool quit_asked() const { return question_ == Question::kQuit; }
  // True while a request a key made is not answered yet: keys that would make another wait.
  // A presence, disposition or never-route request is unanswered (one at a time).
  bool waiting() const { return waiting_; }
  // Counts every offer that rang: the app rings the bell when it grows.
  int offers_rung() const { return offers_rung_; }

 private:
  void OnOffer(const hotline::v1::OfferEvent& offer);
  void OnOfferRevoked(const hotline::v1::OfferRevokedEvent& revoked);
  void OnConnected(const hotline::v1::CallConnectedEvent& connected, TimePoint at);
  void OnWrapUpStarted(const hotline::v1::WrapUpStartedEvent& wrap_up);
  // A call whose wrap-up ended while this desk was not running: its form opens again, late,
  // behind any form with a deadline still running.
  void OnDispositionOwed(const hotline::v1::DispositionOwedEvent& owed);
  void OnPresence(const hotline::v1::CounsellorStatus& status);
  void SetStatus(const hotline::v1::CounsellorStatus& status);
  void SetAnsweredStatus(const hotline::v1::CounsellorStatus& status);
  WrapUpForm& FormFor(const std::string& call_id);
  void StartCall(const std::string& call_id);

  Request RouteKey(Key key);
  Request Answer(Key key);
  Request BreakFor(Key key);
  void AskNeverRoute(const std::string& call_id);
  Request OnOfferKey(Key key);
  Request OnFormKey(Key key);
  Request OnNoteKey(Key key);
  Request OnIdleKey(Key key);
  Request Submit(bool ready_for_next);
  void MoveFocus(int step);
  void MoveCursor(int step);
  void PickOrToggle();

  const Taxonomy taxonomy_;
  Lang lang_;
  Connection connection_;
  std::optional<hotline::v1::CounsellorStatus> status_;
  std::string display_name_;
  std::optional<RingingOffer> offer_;
  std::optional<CurrentCall> call_;
  std::deque<WrapUpForm> forms_;
  // The calls whose disposition this desk recorded: their form never opens again. A shift's worth
  // of ids.
  std::set<std::string> recorded_;
  std::optional<hotline::v1::ShiftFiguresResponse> figures_;
  bool figures_unavailable_ = false;
  // Deadlines passed since the figures last came.
  int figures_timeouts_ = 0;
  // When the figures are due again (the epoch: at once), unless a call ending makes them stale.
  TimePoint figures_next_;
  bool figures_stale_ = true;
  Notice notice_;
  Question question_ = Question::kNone;
  // kNeverRoute: the call whose caller it is about.
  std::string question_call_id_;
  bool waiting_ = false;
  // The offer (its seq) whose accept or decline is unanswered: that offer takes no second answer,
  // and answers never wait behind `waiting_` (docs/desk.md: an accept never waits behind a form
  // still being sent, whose answer the daemon may hold while its database is busy).
  std::optional<int> answering_;
  int offers_rung_ = 0;
};

// Time points from proto timestamps, and the other way.
TimePoint ToTimePoint(const google::protobuf::Timestamp& at);

}  // namespace hotline::clients::desk
