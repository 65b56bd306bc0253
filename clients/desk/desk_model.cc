#include "clients/desk/desk_model.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

#include "clients/desk/utf8.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;
using Kind = Key::Kind;

constexpr int kSections = 5;

// The characters the daemon refuses in free text (daemon/text_checks.cc, IsControl): the C0 and
// C1 controls, DEL, and the separators and bidirectional controls that change how text reads.
bool IsControlCharacter(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

bool IsChar(Key key, char c) {
  return key.kind == Kind::kChar && key.ch == static_cast<char32_t>(c);
}

// Letters are keys whatever their case: Caps Lock on must not turn a key off.
bool IsLetter(Key key, char lower) {
  return IsChar(key, lower) || IsChar(key, static_cast<char>(lower - 'a' + 'A'));
}

int ListSize(const Taxonomy& taxonomy, Section section) {
  switch (section) {
    case Section::kCategory:
      return static_cast<int>(taxonomy.categories.size());
    case Section::kAction:
      return static_cast<int>(taxonomy.actions.size());
    case Section::kFlags:
      return static_cast<int>(taxonomy.flags.size());
    case Section::kHeavy:
    case Section::kNote:
      return 1;
  }
  return 1;
}

}  // namespace

TimePoint ToTimePoint(const google::protobuf::Timestamp& at) {
  return TimePoint(
      std::chrono::milliseconds(google::protobuf::util::TimeUtil::TimestampToMilliseconds(at)));
}

DeskModel::DeskModel(Taxonomy taxonomy, Lang lang, std::string address)
    : taxonomy_(std::move(taxonomy)), lang_(lang) {
  connection_.address = std::move(address);
}

void DeskModel::Apply(const v1::DeskEvent& event) {
  connection_.open = true;
  connection_.retry_at.reset();
  switch (event.kind_case()) {
    case v1::DeskEvent::kOffer:
      OnOffer(event.offer());
      break;
    case v1::DeskEvent::kOfferRevoked:
      OnOfferRevoked(event.offer_revoked());
      break;
    case v1::DeskEvent::kCallConnected:
      OnConnected(event.call_connected(), ToTimePoint(event.at()));
      break;
    case v1::DeskEvent::kCallEnded:
      ShowInfo("Cuộc gọi đã kết thúc: hãy ghi kết quả.", "The call ended: record its outcome.");
      break;
    case v1::DeskEvent::kWrapUpStarted:
      OnWrapUpStarted(event.wrap_up_started());
      break;
    case v1::DeskEvent::kPresenceChanged:
      OnPresence(event.presence_changed().status());
      break;
    case v1::DeskEvent::kDispositionOwed:
      OnDispositionOwed(event.disposition_owed());
      break;
    case v1::DeskEvent::KIND_NOT_SET:
      break;  // A newer daemon may send kinds this build does not know.
  }
}

void DeskModel::OnOffer(const v1::OfferEvent& offer) {
  ++offers_rung_;
  offer_ = RingingOffer{offer, ToTimePoint(offer.call().arrived_at()),
                        ToTimePoint(offer.expires_at()), offers_rung_};
  question_ = Question::kNone;  // The offer's keys come first.
}

void DeskModel::OnOfferRevoked(const v1::OfferRevokedEvent& revoked) {
  if (!offer_ || offer_->offer.call().call_id() != revoked.call_id()) {
    return;
  }
  offer_.reset();
  switch (revoked.reason()) {
    case v1::OfferRevokedEvent::REASON_TIMED_OUT:
      ShowInfo("Hết giờ nhận: cuộc gọi đã chuyển cho người khác (tính là lỡ).",
               "Not answered in time: the call went to someone else (counted as missed).");
      break;
    case v1::OfferRevokedEvent::REASON_CALLER_HUNG_UP:
      ShowInfo("Người gọi đã gác máy.", "The caller hung up.");
      break;
    case v1::OfferRevokedEvent::REASON_DECLINED:
      ShowInfo("Đã từ chối: cuộc gọi trở lại hàng chờ.",
               "Declined: the call went back to the queue.");
      break;
    default:
      ShowInfo("Cuộc gọi mời đã bị rút lại.", "The offer was withdrawn.");
      break;
  }
}

void DeskModel::OnConnected(const v1::CallConnectedEvent& connected, TimePoint at) {
  if (!call_ || call_->call_id != connected.call_id()) {
    StartCall(connected.call_id());
  }
  call_->connected_at = at;
}

void DeskModel::OnWrapUpStarted(const v1::WrapUpStartedEvent& wrap_up) {
  if (recorded_.contains(wrap_up.call_id())) {
    return;  // A stream event late behind the answer that recorded it: no form to open again.
  }
  WrapUpForm& form = FormFor(wrap_up.call_id());
  form.deadline = ToTimePoint(wrap_up.deadline());
  if (call_ && call_->call_id == wrap_up.call_id()) {
    form.call = call_->summary;
    call_.reset();
  }
  figures_stale_ = true;
}

void DeskModel::OnDispositionOwed(const v1::DispositionOwedEvent& owed) {
  if (recorded_.contains(owed.call_id())) {
    return;
  }
  for (const WrapUpForm& form : forms_) {
    if (form.call_id == owed.call_id()) {
      return;  // Still open here (a reconnect, not a restart): it keeps its contents.
    }
  }
  WrapUpForm form;
  form.call_id = owed.call_id();
  form.deadline = ToTimePoint(owed.wrap_up_ended_at());
  form.flags.assign(taxonomy_.flags.size(), false);
  forms_.push_back(std::move(form));
}

WrapUpForm& DeskModel::FormFor(const std::string& call_id) {
  for (WrapUpForm& form : forms_) {
    if (form.call_id == call_id) {
      return form;
    }
  }
  // The newest call's wrap-up is the one with a deadline running: it goes in front of any late
  // form, which keeps its contents behind it.
  WrapUpForm form;
  form.call_id = call_id;
  form.flags.assign(taxonomy_.flags.size(), false);
  forms_.push_front(std::move(form));
  return forms_.front();
}

void DeskModel::OnPresence(const v1::CounsellorStatus& status) {
  if (display_name_.empty()) {
    display_name_ = status.display_name();
  }
  SetStatus(status);
}

// The daemon's word on where the counsellor stands corrects what the desk believed: an offer
// whose revocation was missed (a reconnect), a desk started during a call or its wrap-up.
void DeskModel::SetStatus(const v1::CounsellorStatus& status) {
  const bool left_wrap_up = status_ && status_->state() == v1::COUNSELLOR_STATE_WRAP_UP &&
                            status.state() != v1::COUNSELLOR_STATE_WRAP_UP;
  status_ = status;
  if (left_wrap_up) {
    figures_stale_ = true;  // The call now counts in the figures.
  }
  if (status.state() == v1::COUNSELLOR_STATE_ON_CALL) {
    if (!call_ || call_->call_id != status.call_id()) {
      StartCall(status.call_id());
    }
  } else {
    call_.reset();
  }
  if (status.state() == v1::COUNSELLOR_STATE_WRAP_UP && !status.call_id().empty() &&
      !recorded_.contains(status.call_id())) {
    FormFor(status.call_id());
  }
  if (status.state() != v1::COUNSELLOR_STATE_RESERVED) {
    offer_.reset();
  }
}

// The accepted call, with what its offer said when the desk saw it (the ON_CALL presence and the
// answer to the accept come in either order).
void DeskModel::StartCall(const std::string& call_id) {
  call_ = CurrentCall{call_id, {}, {}, {}, {}};
  if (offer_ && offer_->offer.call().call_id() == call_id) {
    call_->summary = offer_->offer.call();
    call_->arrived_at = offer_->arrived_at;
    if (offer_->offer.has_caller_history()) {
      call_->history = offer_->offer.caller_history();
    }
  }
}

void DeskModel::OnWatchLost(const std::string& why, TimePoint retry_at) {
  connection_.open = false;
  connection_.retry_at = retry_at;
  if (offer_) {
    offer_.reset();
    ShowInfo("Mất kết nối: cuộc gọi mời đã trở lại hàng chờ.",
             "Connection lost: the offer went back to the queue.");
  }
  if (!why.empty()) {
    ShowError(why);
  }
}

void DeskModel::OnWatchStopped(const std::string& why) {
  connection_.open = false;
  connection_.retry_at.reset();
  connection_.stopped = why;
  offer_.reset();
}

void DeskModel::OnPresenceAnswer(const v1::CounsellorStatus& status) {
  waiting_ = false;
  notice_ = Notice{};
  SetAnsweredStatus(status);
}

// An answer comes on another thread than the Watch stream, and after its commit, while Watch
// events go out before theirs: the events of the answered request and of later ones (an offer
// made right after, in the same millisecond) are here first. An answer no newer than the state
// the desk shows is left out, so that it can never hide a ringing offer.
void DeskModel::SetAnsweredStatus(const v1::CounsellorStatus& status) {
  if (status_ && ToTimePoint(status.since()) <= ToTimePoint(status_->since())) {
    return;
  }
  SetStatus(status);
}

void DeskModel::OnRequestFailed(const std::string& error) {
  waiting_ = false;
  ShowError(error);
}

void DeskModel::OnAnswerOffer(const Request& request, const std::string& error, bool offer_gone) {
  if (answering_ == request.offer_seq) {
    answering_.reset();
  }
  // The offer answered, not one rung since for the same call (after a decline nobody else took).
  const bool ringing = offer_ && offer_->seq == request.offer_seq;
  if (!error.empty()) {
    ShowError(error);
    if (offer_gone && ringing) {
      offer_.reset();
    }
    return;
  }
  if (request.accept && ringing) {
    StartCall(request.call_id);
    ShowInfo("Đã nhận: đang nối máy tới điện thoại của bạn.",
             "Accepted: connecting the caller to your phone.");
  }
  if (ringing) {
    offer_.reset();
  }
}

void DeskModel::OnSubmitted(const Request& request, const v1::SubmitDispositionResponse& response) {
  waiting_ = false;
  std::erase_if(forms_, [&](const WrapUpForm& form) { return form.call_id == request.call_id; });
  recorded_.insert(request.call_id);
  SetAnsweredStatus(response.status());
  figures_stale_ = true;
  if (response.late()) {
    ShowInfo(fmt::format("Đã ghi kết quả cuộc gọi {} (ghi MUỘN, sau hạn).", request.call_id),
             fmt::format("Recorded the outcome of call {} (LATE, after the deadline).",
                         request.call_id));
  } else {
    ShowInfo(fmt::format("Đã ghi kết quả cuộc gọi {}.", request.call_id),
             fmt::format("Recorded the outcome of call {}.", request.call_id));
  }
}

void DeskModel::OnEarlierVersionMayStand(const std::string& call_id) {
  ShowInfo(
      fmt::format("Đã ghi kết quả cuộc gọi {}, nhưng lần gửi trước (chưa có trả lời) có thể đã "
                  "được ghi: nếu vậy, phần sửa sau đó không được ghi.",
                  call_id),
      fmt::format("Recorded call {}, but an earlier send that got no answer may be what was "
                  "recorded: if so, your later change is not.",
                  call_id));
}

void DeskModel::OnNeverRouted(const Request& request, const std::string& error) {
  waiting_ = false;
  if (!error.empty()) {
    ShowError(error);
    return;
  }
  ShowInfo(fmt::format("Người gọi cuộc {} sẽ không được nối tới bạn nữa.", request.call_id),
           fmt::format("The caller of call {} will not be routed to you again.", request.call_id));
}

void DeskModel::OnFiguresAsked(TimePoint now) {
  figures_next_ = now + kFiguresEvery;
  figures_stale_ = false;
}

void DeskModel::OnFigures(const v1::ShiftFiguresResponse& figures, TimePoint now) {
  figures_ = figures;
  figures_unavailable_ = false;
  figures_timeouts_ = 0;
  figures_next_ = now + kFiguresEvery;
  // Not figures_stale_: OnFiguresAsked cleared it, so if a call ended while these were on their
  // way (its wrap-up's end comes on Watch before its row is written), they may not count it
  // and are asked for again at once.
}

void DeskModel::OnFiguresUnavailable(TimePoint now) {
  figures_unavailable_ = true;
  figures_next_ = now + kFiguresEvery;
  figures_stale_ = false;
}

void DeskModel::OnFiguresTimedOut(TimePoint now) {
  if (!figures_ || ++figures_timeouts_ > 1) {
    OnFiguresUnavailable(now);
    return;
  }
  figures_next_ = now + kFiguresTimeoutRetry;
  figures_stale_ = false;
}

void DeskModel::OnFiguresFailed(const std::string& error, TimePoint now) {
  // Kept as they were; tried again at the next minute rather than at every frame.
  figures_next_ = now + kFiguresEvery;
  figures_stale_ = false;
  ShowError(error);
}

void DeskModel::OnFiguresBusy(TimePoint now) {
  figures_next_ = now + kFiguresBusyRetry;
  figures_stale_ = false;
}

bool DeskModel::FiguresDue(TimePoint now) const { return figures_stale_ || now >= figures_next_; }

void DeskModel::ShowError(const std::string& text) { notice_ = Notice{text, text, true}; }

void DeskModel::ShowInfo(std::string vi, std::string en) {
  notice_ = Notice{std::move(vi), std::move(en), false};
}

Request DeskModel::OnKey(Key key) {
  Request request = RouteKey(key);
  if (request.kind == Request::Kind::kNone || request.kind == Request::Kind::kQuit) {
    return request;
  }
  // One request at a time: a key pressed twice in a hurry must not accept or send twice. An
  // offer's answer goes on its own: it never waits behind a form or a presence being sent.
  if (request.kind == Request::Kind::kAnswer) {
    if (answering_ == request.offer_seq) {
      ShowInfo("Đang chờ máy chủ trả lời…", "Waiting for the server's answer…");
      return {};
    }
    answering_ = request.offer_seq;
    return request;
  }
  if (waiting_) {
    ShowInfo("Đang chờ máy chủ trả lời…", "Waiting for the server's answer…");
    return {};
  }
  waiting_ = true;
  return request;
}

Request DeskModel::RouteKey(Key key) {
  if (question_ != Question::kNone) {
    return Answer(key);
  }
  // The language switches from anywhere but the note, where 'l' is a letter.
  const bool typing = form() != nullptr && !offer_ && form()->focus == Section::kNote;
  if (!typing && IsLetter(key, 'l')) {
    lang_ = lang_ == Lang::kVi ? Lang::kEn : Lang::kVi;
    return {};
  }
  // A ringing offer takes every key until it is answered: a letter typed into a note must not
  // answer it, and nothing else matters more.
  if (offer_) {
    return OnOfferKey(key);
  }
  if (form() != nullptr && !call_) {
    return form()->focus == Section::kNote ? OnNoteKey(key) : OnFormKey(key);
  }
  return OnIdleKey(key);
}

Request DeskModel::Answer(Key key) {
  const Question question = std::exchange(question_, Question::kNone);
  Request request;
  if (question == Question::kBreakReason) {
    return BreakFor(key);
  }
  if (!IsLetter(key, 'y')) {
    return request;
  }
  if (question == Question::kQuit) {
    request.kind = Request::Kind::kQuit;
  } else if (question == Question::kNeverRoute) {
    request.kind = Request::Kind::kNeverRoute;
    request.call_id = question_call_id_;
  }
  return request;
}

// 1-5 name the break, Enter takes it unnamed; any other key asks for no break at all.
Request DeskModel::BreakFor(Key key) {
  Request request;
  request.kind = Request::Kind::kSetPresence;
  request.state = v1::COUNSELLOR_STATE_BREAK;
  if (key.kind == Key::Kind::kEnter) {
    return request;
  }
  for (size_t i = 0; i < kNamedBreaks.size(); ++i) {
    if (key.kind == Key::Kind::kChar && key.ch == static_cast<char32_t>('1' + i)) {
      request.break_reason = kNamedBreaks[i];
      return request;
    }
  }
  return {};
}

void DeskModel::AskNeverRoute(const std::string& call_id) {
  question_ = Question::kNeverRoute;
  question_call_id_ = call_id;
}

Request DeskModel::OnOfferKey(Key key) {
  Request request;
  request.call_id = offer_->offer.call().call_id();
  request.offer_seq = offer_->seq;
  if (key.kind == Kind::kEnter || IsLetter(key, 'y')) {
    request.kind = Request::Kind::kAnswer;
    request.accept = true;
  } else if (IsLetter(key, 'd') || IsLetter(key, 'x')) {
    request.kind = Request::Kind::kAnswer;
    request.accept = false;
  }
  return request;
}

Request DeskModel::OnFormKey(Key key) {
  switch (key.kind) {
    case Kind::kTab:
      MoveFocus(1);
      return {};
    case Kind::kBackTab:
      MoveFocus(-1);
      return {};
    case Kind::kUp:
      MoveCursor(-1);
      return {};
    case Kind::kDown:
      MoveCursor(1);
      return {};
    case Kind::kEnter:
      PickOrToggle();
      return {};
    default:
      break;
  }
  if (IsChar(key, ' ')) {
    PickOrToggle();
  } else if (IsLetter(key, 's')) {
    return Submit(/*ready_for_next=*/true);
  } else if (IsLetter(key, 'p')) {
    return Submit(/*ready_for_next=*/false);
  } else if (IsLetter(key, 'h')) {
    forms_.front().heavy = !forms_.front().heavy;
  } else if (IsLetter(key, 'n')) {
    forms_.front().focus = Section::kNote;
  } else if (IsLetter(key, 'k')) {
    AskNeverRoute(forms_.front().call_id);
  } else if (IsLetter(key, 'q')) {
    question_ = Question::kQuit;
  }
  return {};
}

Request DeskModel::OnNoteKey(Key key) {
  WrapUpForm& form = forms_.front();
  switch (key.kind) {
    case Kind::kTab:
    case Kind::kEnter:
    case Kind::kEscape:
      MoveFocus(1);
      return {};
    case Kind::kBackTab:
    case Kind::kUp:
      MoveFocus(-1);
      return {};
    case Kind::kBackspace:
      EraseLastCharacter(form.note);
      return {};
    case Kind::kChar:
      break;
    default:
      return {};
  }
  if (IsControlCharacter(key.ch)) {
    return {};  // The daemon refuses a note with one (a pasted one would cost the wrap-up).
  }
  std::string typed;
  AppendUtf8(typed, key.ch);
  if (form.note.size() + typed.size() > kMaxNoteBytes) {
    ShowInfo(fmt::format("Ghi chú đã đủ {} byte, giới hạn của máy chủ.", kMaxNoteBytes),
             fmt::format("The note is full: {} bytes is the server's limit.", kMaxNoteBytes));
    return {};
  }
  form.note += typed;
  return {};
}

Request DeskModel::OnIdleKey(Key key) {
  Request request;
  // During a call the presence cannot change (the daemon would refuse it): the keys that would
  // ask are dead rather than a source of errors mid-call.
  const bool presence_keys = !call_;
  if (presence_keys && IsLetter(key, 'a')) {
    request.kind = Request::Kind::kSetPresence;
    request.state = v1::COUNSELLOR_STATE_AVAILABLE;
  } else if (presence_keys && IsLetter(key, 'b')) {
    question_ = Question::kBreakReason;  // Why: the bottom line lists the reasons.
  } else if (presence_keys && IsLetter(key, 'o')) {
    request.kind = Request::Kind::kSetPresence;
    request.state = v1::COUNSELLOR_STATE_OFFLINE;
  } else if (IsLetter(key, 'r')) {
    figures_stale_ = true;
  } else if (call_ && IsLetter(key, 'k')) {
    AskNeverRoute(call_->call_id);
  } else if (IsLetter(key, 'q')) {
    question_ = Question::kQuit;
  }
  return request;
}

Request DeskModel::Submit(bool ready_for_next) {
  WrapUpForm& form = forms_.front();
  if (!form.category || !form.action) {
    form.focus = form.category ? Section::kAction : Section::kCategory;
    ShowInfo("Chọn một phân loại và một hành động (↑↓ rồi Space) trước khi gửi.",
             "Pick a category and an action (arrows, then Space) before sending.");
    return {};
  }
  Request request;
  request.kind = Request::Kind::kSubmit;
  request.call_id = form.call_id;
  request.ready_for_next = ready_for_next;
  v1::Disposition& disposition = request.disposition;
  disposition.set_category(
      static_cast<v1::Category>(taxonomy_.categories[static_cast<size_t>(*form.category)].number));
  disposition.set_action(
      static_cast<v1::Action>(taxonomy_.actions[static_cast<size_t>(*form.action)].number));
  for (size_t i = 0; i < form.flags.size(); ++i) {
    if (form.flags[i]) {
      disposition.add_flags(static_cast<v1::DispositionFlag>(taxonomy_.flags[i].number));
    }
  }
  disposition.set_heavy(form.heavy);
  disposition.set_note(form.note);
  return request;
}

void DeskModel::MoveFocus(int step) {
  WrapUpForm& form = forms_.front();
  const int next = (static_cast<int>(form.focus) + step + kSections) % kSections;
  form.focus = static_cast<Section>(next);
}

void DeskModel::MoveCursor(int step) {
  WrapUpForm& form = forms_.front();
  int* cursor = form.focus == Section::kCategory ? &form.category_cursor
                : form.focus == Section::kAction ? &form.action_cursor
                : form.focus == Section::kFlags  ? &form.flag_cursor
                                                 : nullptr;
  if (cursor == nullptr) {
    MoveFocus(step);  // Heavy is one line: the arrows move on to the next part.
    return;
  }
  const int size = ListSize(taxonomy_, form.focus);
  *cursor = std::clamp(*cursor + step, 0, size - 1);
}

void DeskModel::PickOrToggle() {
  WrapUpForm& form = forms_.front();
  switch (form.focus) {
    case Section::kCategory:
      form.category = form.category_cursor;
      form.focus = Section::kAction;  // One pick each: move on to what is still missing.
      break;
    case Section::kAction:
      form.action = form.action_cursor;
      form.focus = Section::kFlags;
      break;
    case Section::kFlags:
      form.flags[static_cast<size_t>(form.flag_cursor)] =
          !form.flags[static_cast<size_t>(form.flag_cursor)];
      break;
    case Section::kHeavy:
      form.heavy = !form.heavy;
      break;
    case Section::kNote:
      break;
  }
}

}  // namespace hotline::clients::desk
