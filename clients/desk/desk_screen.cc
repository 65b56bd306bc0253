#include "clients/desk/desk_screen.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <functional>

#include "clients/common/text.h"
#include "clients/desk/utf8.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;
using std::chrono::milliseconds;

// Where things are: the top two rows say who and how connected, the bottom three what happened
// and which keys work; the body is between them.
constexpr int kHeaderRow = 0;
constexpr int kConnectionRow = 1;
constexpr int kBodyTop = 2;
// The offer box: always these rows, over whatever the body shows, so it never scrolls away.
constexpr int kOfferTop = 2;
constexpr int kOfferBottom = 12;
// The wrap-up form's second column.
constexpr int kRightColumn = 40;

int StatusRow(const Grid& grid) { return grid.height() - 3; }
int KeysRow(const Grid& grid) { return grid.height() - 1; }

std::string Clock(TimePoint at, bool with_date) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm local{};
  localtime_r(&t, &local);
  if (with_date) {
    return fmt::format("{:02}/{:02} {:02}:{:02}", local.tm_mday, local.tm_mon + 1, local.tm_hour,
                       local.tm_min);
  }
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

std::string Since(TimePoint from, TimePoint now) {
  return HumanDuration(std::chrono::duration_cast<milliseconds>(now - from));
}

// A countdown rounds up: "1s" until the very end, "0s" only when the time is up.
std::string Until(TimePoint at, TimePoint now) {
  const auto left = std::chrono::duration_cast<milliseconds>(at - now);
  return left <= milliseconds::zero() ? HumanDuration(milliseconds::zero())
                                      : HumanDuration(left + milliseconds(499));
}

// An enum value's words, from a table indexed by the value's number; `fallback` for a value the
// table does not have (a newer daemon's).
template <typename Enum, size_t N>
Words WordsOf(const std::array<Words, N>& table, Enum value, Words fallback) {
  const auto index = static_cast<size_t>(value);
  return index < N && !table[index].vi.empty() ? table[index] : fallback;
}

constexpr Words kUnknown = {"không rõ", "unknown"};

// By CounsellorState number.
constexpr std::array<Words, 7> kStates = {{{},
                                           {"ĐÃ ĐĂNG XUẤT", "SIGNED OUT"},
                                           {"SẴN SÀNG", "AVAILABLE"},
                                           {"CÓ CUỘC GỌI ĐẾN", "CALL RINGING"},
                                           {"ĐANG NGHE MÁY", "ON A CALL"},
                                           {"GHI KẾT QUẢ", "WRAP-UP"},
                                           {"NGHỈ", "ON BREAK"}}};
// By BreakReason number.
constexpr std::array<Words, 11> kBreakReasons = {
    {{},
     {"bạn tự chọn", "you chose it"},
     {"lỡ liên tiếp cuộc gọi mời", "missed offers in a row"},
     {"không gọi được điện thoại của bạn", "your phone could not be reached"},
     {"hồi sức sau cuộc gọi nặng nề", "cool-down after a heavy call"},
     {"giám sát viên đặt", "set by a supervisor"},
     {"nghỉ ngắn", "a rest"},
     {"ăn", "a meal"},
     {"tập huấn, họp", "training, a meeting"},
     {"trao đổi sau cuộc gọi", "a debrief"},
     {"xử lý ca", "case follow-up"}}};
// By Topic number.
constexpr std::array<Words, 5> kTopics = {{{},
                                           {"Báo tin xâm hại, bạo lực", "Reporting abuse"},
                                           {"Tư vấn, tâm sự", "Counselling"},
                                           {"Thông tin, pháp lý", "Information, legal"},
                                           {"Khác", "Other"}}};
// By Priority number.
constexpr std::array<Words, 5> kPriorities = {
    {{}, {"thấp", "low"}, {"bình thường", "normal"}, {"CAO", "HIGH"}, {"KHẨN CẤP", "EMERGENCY"}}};

Words StateWords(v1::CounsellorState state) { return WordsOf(kStates, state, {"?", "?"}); }
Words BreakWords(v1::BreakReason reason) { return WordsOf(kBreakReasons, reason, kUnknown); }
Words TopicWords(v1::Topic topic) { return WordsOf(kTopics, topic, kUnknown); }
Words PriorityWords(v1::Priority priority) { return WordsOf(kPriorities, priority, kUnknown); }

std::string Province(const v1::CallSummary& call, Lang lang) {
  if (!call.province_name().empty()) {
    return call.province_name();
  }
  // An older daemon sends no name: the code is still better than nothing.
  return call.province().empty() ? std::string(Say(lang, kUnknown)) : call.province();
}

std::string CategoryLabel(const DeskModel& model, int number) {
  for (const TaxonomyEntry& entry : model.taxonomy().categories) {
    if (entry.number == number) {
      return entry.Label(model.lang());
    }
  }
  return std::to_string(number);
}

// "label  value" pairs in two columns from `col`.
void Pair(Grid& grid, int row, int col, Words label, const std::string& value, Lang lang,
          uint8_t attr = kPlain) {
  const int at = grid.Put(row, col, Say(lang, label));
  grid.Put(row, std::max(at + 1, col + 13), value, attr);
}

// Text cut into rows of `width` cells (at spaces where it can), at most `rows` of them.
std::vector<std::string> Wrap(std::string_view text, int width, int rows) {
  std::vector<std::string> lines;
  for (std::string_view paragraph : Split(text, '\n')) {
    std::string line;
    for (std::string_view word : Split(paragraph, ' ')) {
      const int used = static_cast<int>(Width(line));
      if (!line.empty() && used + 1 + static_cast<int>(Width(word)) > width) {
        lines.push_back(line);
        line.clear();
      }
      line += line.empty() ? std::string(word) : " " + std::string(word);
    }
    lines.push_back(line);
  }
  if (static_cast<int>(lines.size()) > rows) {
    lines.resize(static_cast<size_t>(rows));
  }
  return lines;
}

void DrawBox(Grid& grid, int top, int bottom, uint8_t attr) {
  const int right = std::min(grid.width(), kMinWidth) - 1;
  for (int row = top; row <= bottom; ++row) {
    for (int col = 0; col <= right; ++col) {
      const bool edge_row = row == top || row == bottom;
      const bool edge_col = col == 0 || col == right;
      std::string_view glyph = " ";
      if (edge_row && edge_col) {
        glyph = row == top ? (col == 0 ? "┌" : "┐") : (col == 0 ? "└" : "┘");
      } else if (edge_row) {
        glyph = "─";
      } else if (edge_col) {
        glyph = "│";
      }
      grid.Put(row, col, glyph, attr);
    }
  }
}

void DrawTooSmall(Grid& grid, Lang lang) {
  const std::string text =
      lang == Lang::kVi ? fmt::format("Cửa sổ quá nhỏ ({}x{}). Hãy mở rộng tới ít nhất {}x{}.",
                                      grid.width(), grid.height(), kMinWidth, kMinHeight)
                        : fmt::format("The window is too small ({}x{}). Make it at least {}x{}.",
                                      grid.width(), grid.height(), kMinWidth, kMinHeight);
  int row = 0;
  for (const std::string& line : Wrap(text, grid.width(), grid.height())) {
    grid.Put(row++, 0, line, kBold);
  }
}

void DrawHeader(Grid& grid, const DeskModel& model, TimePoint now) {
  const Lang lang = model.lang();
  std::string text = " HOTLINE 18001567";
  if (!model.display_name().empty()) {
    text += " · " + model.display_name();
  }
  if (const auto& status = model.status()) {
    text += fmt::format(" · {}", Say(lang, StateWords(status->state())));
    if (status->has_since()) {
      text += " " + Since(ToTimePoint(status->since()), now);
    }
  } else {
    text += std::string(" · ") + std::string(Say(lang, {"đang đăng nhập…", "signing in…"}));
  }
  grid.Mark(kHeaderRow, 0, grid.width(), kReverse);
  grid.Put(kHeaderRow, 0, text, kReverse | kBold);
  const std::string clock = Clock(now, false) + " ";
  grid.Put(kHeaderRow, grid.width() - static_cast<int>(clock.size()), clock, kReverse | kBold);
}

void DrawConnection(Grid& grid, const DeskModel& model, TimePoint now) {
  const Lang lang = model.lang();
  const Connection& connection = model.connection();
  if (!connection.stopped.empty()) {
    grid.Put(kConnectionRow, 0, connection.stopped, kBold | kReverse);
  } else if (connection.open) {
    grid.Put(
        kConnectionRow, 0,
        fmt::format("{} {}", Say(lang, {"Đã kết nối tới", "Connected to"}), connection.address));
  } else if (connection.retry_at) {
    grid.Put(kConnectionRow, 0,
             fmt::format("{} {} · {} {}",
                         Say(lang, {"ĐANG KẾT NỐI LẠI… / reconnecting…",
                                    "RECONNECTING… / đang kết nối lại…"}),
                         connection.address, Say(lang, {"thử lại sau", "next try in"}),
                         Until(*connection.retry_at, now)),
             kBold | kReverse);
  } else {
    grid.Put(
        kConnectionRow, 0,
        fmt::format("{} {}", Say(lang, {"Đang kết nối tới", "Connecting to"}), connection.address));
  }
}

// Three lines on a repeat caller: how often and whether with you; what it was about last; when.
void DrawHistory(Grid& grid, int row, int col, const DeskModel& model,
                 const v1::CallerHistory& history) {
  const Lang lang = model.lang();
  const std::string at_least = history.contacts() >= 20 ? "≥" : "";
  std::string first =
      lang == Lang::kVi
          ? fmt::format("GỌI LẠI: {}{} lần trong 7 ngày", at_least, history.contacts())
          : fmt::format("REPEAT CALLER: {}{} calls in 7 days", at_least, history.contacts());
  first += history.spoke_with_you()
               ? std::string(Say(lang, {" · ĐÃ NÓI CHUYỆN VỚI BẠN", " · HAS SPOKEN WITH YOU"}))
               : std::string(Say(lang, {" · chưa nói chuyện với bạn", " · not with you before"}));
  grid.Put(row, col, first, kBold);
  if (history.last_category() != v1::CATEGORY_UNSPECIFIED) {
    grid.Put(row + 1, col,
             fmt::format("{}: {}", Say(lang, {"Lần trước", "Last time"}),
                         CategoryLabel(model, history.last_category())));
  }
  std::string recent(Say(lang, {"Gần đây:", "Recent:"}));
  for (int i = 0; i < history.recent_size(); ++i) {
    const v1::PastContact& contact = history.recent(i);
    recent +=
        fmt::format("{} {}{}", i == 0 ? "" : ";", Clock(ToTimePoint(contact.answered_at()), true),
                    contact.with_you() ? Say(lang, {" (bạn)", " (you)"}) : "");
  }
  grid.Put(row + 2, col, recent);
}

// The caller's wish for a woman or a man, in the right column.
void DrawGender(Grid& grid, int row, const v1::CallSummary& call, Lang lang) {
  if (call.gender_preference() != v1::GENDER_FEMALE &&
      call.gender_preference() != v1::GENDER_MALE) {
    return;
  }
  const Words gender = call.gender_preference() == v1::GENDER_FEMALE ? Words{"nữ", "a woman"}
                                                                     : Words{"nam", "a man"};
  Pair(grid, row, kRightColumn, {"Muốn nói với", "Prefers"}, std::string(Say(lang, gender)), lang,
       kBold);
}

void DrawOffer(Grid& grid, const DeskModel& model, TimePoint now) {
  const Lang lang = model.lang();
  const RingingOffer& ringing = *model.offer();
  const v1::OfferEvent& offer = ringing.offer;
  const v1::CallSummary& call = offer.call();
  DrawBox(grid, kOfferTop, kOfferBottom, kBold);
  const std::string countdown = Until(ringing.expires_at, now);
  grid.Put(kOfferTop, 2,
           fmt::format(" {} · {} {} ", Say(lang, {"CUỘC GỌI ĐẾN", "INCOMING CALL"}),
                       Say(lang, {"còn", "answer within"}), countdown),
           kBold | kReverse);
  int row = kOfferTop + 1;
  if (call.priority() == v1::PRIORITY_EMERGENCY) {
    // Both languages, whatever the screen's: nobody may miss it.
    grid.Mark(row, 1, kMinWidth - 2, kReverse | kBold | kAlert);
    grid.Put(row, 3, "!!! KHẨN CẤP / EMERGENCY: trẻ đang gặp nguy hiểm / a child in danger !!!",
             kReverse | kBold | kAlert);
  } else {
    Pair(grid, row, 2, {"Ưu tiên", "Priority"},
         std::string(Say(lang, PriorityWords(call.priority()))), lang,
         call.priority() == v1::PRIORITY_HIGH ? kBold : kPlain);
    DrawGender(grid, row, call, lang);
  }
  ++row;
  Pair(grid, row, 2, {"Tỉnh/thành", "Province"}, Province(call, lang), lang, kBold);
  Pair(grid, row, kRightColumn, {"Ngôn ngữ", "Language"}, call.language(), lang);
  ++row;
  Pair(grid, row, 2, {"Chủ đề", "Topic"}, std::string(Say(lang, TopicWords(call.topic()))), lang);
  Pair(grid, row, kRightColumn, {"Số gọi", "Caller"}, call.caller_masked(), lang);
  ++row;
  Pair(grid, row, 2, {"Đã chờ", "Waited"}, Since(ringing.arrived_at, now), lang);
  Pair(grid, row, kRightColumn, {"Trả lời trong", "Answer within"}, countdown, lang,
       kBold | kReverse);
  ++row;
  if (call.priority() == v1::PRIORITY_EMERGENCY) {
    DrawGender(grid, row, call, lang);
  }
  ++row;
  if (offer.has_caller_history()) {
    DrawHistory(grid, row, 2, model, offer.caller_history());
  } else if (call.repeat_caller()) {
    grid.Put(row, 2,
             Say(lang, {"GỌI LẠI: người này đã gọi trong 7 ngày qua",
                        "REPEAT CALLER: called in the last 7 days"}),
             kBold);
  }
  const int at = grid.Put(kOfferBottom - 1, 2,
                          Say(lang, {"[Enter] NHẬN CUỘC GỌI", "[Enter] ACCEPT"}), kBold | kReverse);
  grid.Put(kOfferBottom - 1, at + 6, Say(lang, {"[D] Từ chối", "[D] Decline"}), kBold);
}

void DrawSummary(Grid& grid, int row, const DeskModel& model, const v1::CallSummary& call) {
  const Lang lang = model.lang();
  Pair(grid, row, 0, {"Tỉnh/thành", "Province"}, Province(call, lang), lang, kBold);
  Pair(grid, row, kRightColumn, {"Ngôn ngữ", "Language"}, call.language(), lang);
  Pair(grid, row + 1, 0, {"Chủ đề", "Topic"}, std::string(Say(lang, TopicWords(call.topic()))),
       lang);
  Pair(grid, row + 1, kRightColumn, {"Ưu tiên", "Priority"},
       std::string(Say(lang, PriorityWords(call.priority()))), lang,
       call.priority() >= v1::PRIORITY_HIGH ? kBold | kReverse : kPlain);
  Pair(grid, row + 2, 0, {"Số gọi", "Caller"}, call.caller_masked(), lang);
}

void DrawFigures(Grid& grid, int row, const DeskModel& model) {
  const Lang lang = model.lang();
  grid.Put(row, 0, Say(lang, {"CA TRỰC CỦA BẠN HÔM NAY", "YOUR SHIFT TODAY"}), kBold);
  if (model.figures_unavailable()) {
    grid.Put(row + 1, 0,
             Say(lang, {"Số liệu ca trực: máy chủ này chưa cung cấp.",
                        "Shift figures: this server does not offer them yet."}));
    return;
  }
  if (!model.figures()) {
    grid.Put(row + 1, 0, Say(lang, {"Đang tải số liệu…", "Loading the figures…"}));
    return;
  }
  const v1::ShiftFiguresResponse& f = *model.figures();
  grid.Put(row + 1, 0,
           lang == Lang::kVi ? fmt::format("Cuộc gọi mời {}   Đã nhận {}   Từ chối {}   Lỡ {}",
                                           f.offers(), f.accepted(), f.declined(), f.missed())
                             : fmt::format("Offers {}   Accepted {}   Declined {}   Missed {}",
                                           f.offers(), f.accepted(), f.declined(), f.missed()));
  const std::string mean =
      f.has_mean_talk_time()
          ? fmt::format(" ({} {})", Say(lang, {"TB", "mean"}), HumanDuration(f.mean_talk_time()))
          : "";
  grid.Put(row + 2, 0,
           lang == Lang::kVi
               ? fmt::format("Cuộc gọi {}   Thời gian nói {}{}   Nặng nề {}", f.calls_answered(),
                             HumanDuration(f.talk_time()), mean, f.heavy())
               : fmt::format("Calls {}   Talk time {}{}   Heavy {}", f.calls_answered(),
                             HumanDuration(f.talk_time()), mean, f.heavy()));
  grid.Put(row + 3, 0,
           lang == Lang::kVi ? fmt::format("Chưa ghi kết quả {}   Ghi muộn {}",
                                           f.without_disposition(), f.late_dispositions())
                             : fmt::format("Without an outcome {}   Recorded late {}",
                                           f.without_disposition(), f.late_dispositions()));
}

void DrawIdle(Grid& grid, const DeskModel& model) {
  const Lang lang = model.lang();
  const auto& status = model.status();
  int row = kBodyTop + 1;
  if (!status) {
    grid.Put(row, 2, Say(lang, {"Đang đăng nhập…", "Signing in…"}), kBold);
  } else if (status->state() == v1::COUNSELLOR_STATE_AVAILABLE) {
    grid.Put(row, 2,
             Say(lang, {"Bạn đang SẴN SÀNG. Cuộc gọi đến sẽ hiện ở đây, kèm tiếng chuông.",
                        "You are AVAILABLE. A call will show here, with a bell."}),
             kBold);
  } else if (status->state() == v1::COUNSELLOR_STATE_BREAK) {
    grid.Put(row, 2,
             fmt::format("{} ({})", Say(lang, {"Bạn đang NGHỈ", "You are ON BREAK"}),
                         Say(lang, BreakWords(status->break_reason()))),
             kBold);
    grid.Put(
        row + 1, 2,
        Say(lang, {"Nhấn A khi sẵn sàng nhận cuộc gọi.", "Press A when you are ready for calls."}));
  } else if (status->state() == v1::COUNSELLOR_STATE_OFFLINE) {
    grid.Put(row, 2, Say(lang, {"Bạn đã đăng xuất.", "You are signed out."}), kBold);
    grid.Put(
        row + 1, 2,
        Say(lang, {"Nhấn A để sẵn sàng nhận cuộc gọi.", "Press A to be available for calls."}));
  } else {
    grid.Put(row, 2, Say(lang, StateWords(status->state())), kBold);
  }
  DrawFigures(grid, kOfferBottom + 2, model);  // Below where an offer's box would stand.
}

void DrawCall(Grid& grid, const DeskModel& model, TimePoint now) {
  const Lang lang = model.lang();
  const CurrentCall& call = *model.call();
  int row = kBodyTop + 1;
  if (call.connected_at) {
    grid.Put(row, 2,
             fmt::format("{} · {}", Say(lang, {"ĐANG NGHE MÁY", "ON A CALL"}), call.call_id),
             kBold);
    grid.Put(row + 1, 2,
             fmt::format("{} {}", Say(lang, {"Thời gian nói", "Talk time"}),
                         Since(*call.connected_at, now)),
             kBold | kReverse);
  } else {
    grid.Put(row, 2,
             fmt::format("{} · {}",
                         Say(lang, {"ĐANG NỐI MÁY tới điện thoại của bạn…",
                                    "CONNECTING the caller to your phone…"}),
                         call.call_id),
             kBold);
  }
  row += 3;
  if (call.summary) {
    DrawSummary(grid, row, model, *call.summary);
    if (call.arrived_at && call.connected_at) {
      Pair(grid, row + 2, kRightColumn, {"Đã chờ", "Waited"},
           Since(*call.arrived_at, *call.connected_at), lang);
    }
  }
  if (call.history) {
    DrawHistory(grid, row + 4, 0, model, *call.history);
  }
  if (model.forms_waiting() > 0) {
    grid.Put(row + 7, 0,
             Say(lang, {"Biểu mẫu ghi kết quả cuộc trước vẫn mở: gửi sau cuộc này.",
                        "The previous call's outcome form is still open: send it after this."}),
             kBold);
  }
  DrawFigures(grid, kBodyTop + 14, model);
}

void DrawList(Grid& grid, int row, int col, const std::vector<TaxonomyEntry>& entries, Lang lang,
              int cursor, bool focused, const std::function<bool(int)>& picked, bool checkbox) {
  for (int i = 0; i < static_cast<int>(entries.size()); ++i) {
    const bool on = picked(i);
    const std::string mark = checkbox ? (on ? "[x] " : "[ ] ") : (on ? "(*) " : "( ) ");
    const bool here = focused && i == cursor;
    const int end = grid.Put(
        row + i, col, (here ? ">" : " ") + mark + entries[static_cast<size_t>(i)].Label(lang),
        on ? kBold : kPlain);
    if (here) {
      grid.Mark(row + i, col, std::min(end, col + kRightColumn - 1) - col, kReverse);
    }
  }
}

void DrawFormTitle(Grid& grid, const DeskModel& model, const WrapUpForm& form, TimePoint now) {
  const Lang lang = model.lang();
  std::string title = fmt::format("{} · {}", Say(lang, {"GHI KẾT QUẢ", "WRAP-UP"}), form.call_id);
  if (form.call) {
    title += fmt::format(" · {} · {}", Province(*form.call, lang),
                         Say(lang, TopicWords(form.call->topic())));
  }
  if (model.forms_waiting() > 1) {
    title += fmt::format(" · +{} {}", model.forms_waiting() - 1, Say(lang, {"chờ", "waiting"}));
  }
  grid.Put(kBodyTop, 0, title, kBold);
  if (form.Late(now)) {
    grid.Mark(kBodyTop + 1, 0, kMinWidth, kReverse | kBold | kAlert);
    grid.Put(kBodyTop + 1, 1,
             Say(lang, {"QUÁ HẠN: vẫn gửi được, kết quả sẽ được ghi là MUỘN.",
                        "PAST THE DEADLINE: still send it; it will be recorded as LATE."}),
             kReverse | kBold | kAlert);
  } else if (form.deadline) {
    grid.Put(kBodyTop + 1, 0,
             fmt::format("{} {}", Say(lang, {"Còn", "Time left"}), Until(*form.deadline, now)),
             kBold);
  }
}

// The note's last characters on the rows left above the status area, with a cursor when typing.
void DrawNote(Grid& grid, int row, const DeskModel& model, const WrapUpForm& form) {
  const Lang lang = model.lang();
  const bool here = form.focus == Section::kNote;
  const int end = grid.Put(
      row, 0,
      fmt::format("{}{} ({}/{} {}):", here ? ">" : " ", Say(lang, {"GHI CHÚ (N)", "NOTE (N)"}),
                  form.note.size(), kMaxNoteBytes, Say(lang, {"byte", "bytes"})),
      here ? kBold | kReverse : kBold);
  const int rows = std::max(1, StatusRow(grid) - row);
  const int room = (kMinWidth - end - 1) + (rows - 1) * kMinWidth;
  // Show the end of the note, where the counsellor is typing.
  std::string shown = form.note + (here ? "_" : "");
  while (static_cast<int>(Width(shown)) > room) {
    shown.erase(0, CodePointLength(shown));
  }
  int col = end + 1;
  int r = row;
  for (size_t i = 0; i < shown.size();) {
    const size_t length = CodePointLength(std::string_view(shown).substr(i));
    if (col >= kMinWidth) {
      ++r;
      col = 0;
    }
    col = grid.Put(r, col, std::string_view(shown).substr(i, length));
    i += length;
  }
}

void DrawForm(Grid& grid, const DeskModel& model, const WrapUpForm& form, TimePoint now) {
  const Lang lang = model.lang();
  const Taxonomy& taxonomy = model.taxonomy();
  DrawFormTitle(grid, model, form, now);
  const int head = kBodyTop + 2;
  const auto header = [&](int row, int col, Words words, Section section) {
    grid.Put(row, col, Say(lang, words), form.focus == section ? kBold | kReverse : kBold);
  };
  header(head, 0, {"PHÂN LOẠI (chọn 1)", "CATEGORY (pick 1)"}, Section::kCategory);
  DrawList(
      grid, head + 1, 0, taxonomy.categories, lang, form.category_cursor,
      form.focus == Section::kCategory, [&](int i) { return form.category == i; },
      /*checkbox=*/false);
  header(head, kRightColumn, {"HÀNH ĐỘNG (chọn 1)", "ACTION (pick 1)"}, Section::kAction);
  DrawList(
      grid, head + 1, kRightColumn, taxonomy.actions, lang, form.action_cursor,
      form.focus == Section::kAction, [&](int i) { return form.action == i; },
      /*checkbox=*/false);
  const int flags_row = head + 1 + static_cast<int>(taxonomy.actions.size());
  header(flags_row, kRightColumn, {"ĐÁNH DẤU (tùy chọn)", "FLAGS (any)"}, Section::kFlags);
  DrawList(
      grid, flags_row + 1, kRightColumn, taxonomy.flags, lang, form.flag_cursor,
      form.focus == Section::kFlags, [&](int i) { return form.flags[static_cast<size_t>(i)]; },
      /*checkbox=*/true);
  const int heavy_row = flags_row + 1 + static_cast<int>(taxonomy.flags.size());
  const bool heavy_here = form.focus == Section::kHeavy;
  const int end =
      grid.Put(heavy_row, kRightColumn,
               fmt::format("{}{} {}", heavy_here ? ">" : " ", form.heavy ? "[x]" : "[ ]",
                           Say(lang, {"Cuộc gọi nặng nề (H)", "Heavy call (H)"})),
               form.heavy ? kBold : kPlain);
  if (heavy_here) {
    grid.Mark(heavy_row, kRightColumn, end - kRightColumn, kReverse);
  }
  DrawNote(grid, head + 1 + static_cast<int>(taxonomy.categories.size()), model, form);
}

// What happened last, on two rows: errors in bold.
// An error with a hint under it (ErrorLine's "what to do") gets a row each, the error cut with
// "…" if it must be: the hint is what the counsellor can act on.
void DrawNotice(Grid& grid, const DeskModel& model) {
  const Notice& notice = model.notice();
  const std::string& text = notice.Text(model.lang());
  const uint8_t attr = notice.error ? kBold : kPlain;
  const std::vector<std::string_view> paragraphs = Split(text, '\n');
  if (paragraphs.size() < 2) {
    int row = StatusRow(grid);
    for (const std::string& line : Wrap(text, grid.width(), 2)) {
      grid.Put(row++, 0, line, attr);
    }
    return;
  }
  for (int i = 0; i < 2; ++i) {
    const std::string_view line = Trim(paragraphs[static_cast<size_t>(i)]);
    const int end = grid.Put(StatusRow(grid) + i, 0, line, attr);
    if (end >= grid.width() && Width(line) > static_cast<size_t>(grid.width())) {
      grid.Put(StatusRow(grid) + i, grid.width() - 1, "…", attr);
    }
  }
}

std::string KeysFor(const DeskModel& model) {
  const Lang lang = model.lang();
  const std::string_view other = Say(lang, {"L English", "L Tiếng Việt"});
  if (model.question() == Question::kNeverRoute) {
    return std::string(
        Say(lang, {"KHÔNG BAO GIỜ nối người gọi này tới bạn nữa? Y: đồng ý  phím khác: thôi",
                   "NEVER route this caller to you again? Y: yes  any other key: no"}));
  }
  if (model.question() == Question::kBreakReason) {
    return std::string(
        Say(lang, {"NGHỈ: 1 Nghỉ ngắn 2 Ăn 3 Tập huấn/họp 4 Trao đổi 5 Xử lý ca Enter Không nêu",
                   "BREAK: 1 Rest 2 Meal 3 Training/meeting 4 Debrief 5 Follow-up Enter Unnamed"}));
  }
  if (model.quit_asked()) {
    return std::string(model.forms_waiting() > 0
                           ? Say(lang, {"THOÁT khi biểu mẫu chưa gửi? Y: thoát  phím khác: ở lại",
                                        "QUIT with an unsent form? Y: quit  any other key: stay"})
                           : Say(lang, {"Thoát hotline-desk? Y: thoát  phím khác: ở lại",
                                        "Quit hotline-desk? Y: quit  any other key: stay"}));
  }
  if (model.offer()) {
    return fmt::format(
        "{}  {}", Say(lang, {"Enter Nhận cuộc gọi  D Từ chối", "Enter Accept  D Decline"}), other);
  }
  const WrapUpForm* form = model.form();
  if (form != nullptr && !model.call()) {
    if (form->focus == Section::kNote) {
      return std::string(Say(lang, {"Gõ ghi chú  Backspace Xóa  Tab/Enter Xong",
                                    "Type the note  Backspace Erase  Tab/Enter Done"}));
    }
    return fmt::format("{}  {}",
                       Say(lang, {"Tab Mục ↑↓ Di chuyển Space Chọn S Gửi+sẵn sàng P Gửi+nghỉ",
                                  "Tab Part ↑↓ Move Space Pick S Send+ready P Send+break"}),
                       other);
  }
  if (model.call()) {
    return fmt::format("{}  {}  Q {}",
                       Say(lang, {"Trong cuộc gọi  K Không nối lại  R Số liệu",
                                  "On a call  K Never again  R Figures"}),
                       other, Say(lang, {"Thoát", "Quit"}));
  }
  return fmt::format("{}  {}  Q {}",
                     Say(lang, {"A Sẵn sàng  B Nghỉ  O Đăng xuất  R Số liệu",
                                "A Available  B Break  O Sign out  R Figures"}),
                     other, Say(lang, {"Thoát", "Quit"}));
}

void DrawKeys(Grid& grid, const DeskModel& model) {
  grid.Mark(KeysRow(grid), 0, grid.width(), kReverse);
  grid.Put(KeysRow(grid), 0, " " + KeysFor(model), kReverse);
}

}  // namespace

Grid::Grid(int width, int height)
    : width_(std::max(width, 0)),
      height_(std::max(height, 0)),
      cells_(static_cast<size_t>(width_) * static_cast<size_t>(height_)) {}

int Grid::Put(int row, int col, std::string_view text, uint8_t attr) {
  if (row < 0 || row >= height_) {
    return col;
  }
  for (size_t i = 0; i < text.size();) {
    const size_t length = CodePointLength(text.substr(i));
    const std::string_view glyph = text.substr(i, length);
    i += length;
    if (IsCombining(glyph)) {
      // A tone typed apart joins the letter before it, in the same cell.
      if (col > 0 && col <= width_) {
        cells_[Index(row, col - 1)].glyph += glyph;
      }
      continue;
    }
    if (col >= width_) {
      break;
    }
    if (col >= 0) {
      Cell& cell = cells_[Index(row, col)];
      cell.glyph = glyph;
      cell.attr = attr;
    }
    ++col;
  }
  return col;
}

void Grid::Mark(int row, int col, int count, uint8_t attr) {
  if (row < 0 || row >= height_) {
    return;
  }
  for (int c = std::max(col, 0); c < std::min(col + count, width_); ++c) {
    cells_[Index(row, c)].attr |= attr;
  }
}

std::string Grid::Line(int row) const {
  std::string line;
  for (int col = 0; col < width_; ++col) {
    line += at(row, col).glyph;
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return line;
}

std::vector<std::string> Grid::Lines() const {
  std::vector<std::string> lines;
  lines.reserve(static_cast<size_t>(height_));
  for (int row = 0; row < height_; ++row) {
    lines.push_back(Line(row));
  }
  return lines;
}

Grid Render(const DeskModel& model, TimePoint now, int width, int height) {
  Grid grid(width, height);
  if (width < kMinWidth || height < kMinHeight) {
    DrawTooSmall(grid, model.lang());
    return grid;
  }
  DrawHeader(grid, model, now);
  DrawConnection(grid, model, now);
  if (model.form() != nullptr && !model.call()) {
    DrawForm(grid, model, *model.form(), now);
  } else if (model.call()) {
    DrawCall(grid, model, now);
  } else {
    DrawIdle(grid, model);
  }
  if (model.offer()) {
    DrawOffer(grid, model, now);
  }
  DrawNotice(grid, model);
  DrawKeys(grid, model);
  return grid;
}

}  // namespace hotline::clients::desk
