#include "clients/desk/desk_screen.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "clients/common/text.h"
#include "tests/desk/desk_builders.h"

namespace hotline::clients::desk {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the builders read as prose.
using Kind = Key::Kind;

// The screen at 80x24 as text, one string, for Contains checks; each row ends with a newline.
std::string Screen(const DeskModel& model, TimePoint now) {
  std::string text;
  for (const std::string& line : Render(model, now, kMinWidth, kMinHeight).Lines()) {
    text += line + "\n";
  }
  return text;
}

// The row holding `text`, or -1.
int RowOf(const Grid& grid, const std::string& text) {
  for (int row = 0; row < grid.height(); ++row) {
    if (grid.Line(row).find(text) != std::string::npos) {
      return row;
    }
  }
  return -1;
}

// Clock times on screen are local: the tests read them in UTC.
struct Utc {
  Utc() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

DeskModel Ringing(v1::Priority priority, Lang lang = Lang::kVi,
                  const std::string& province_name = "Thanh Hóa") {
  DeskModel model = NewModel(lang);
  model.Apply(Presence(0, v1::COUNSELLOR_STATE_AVAILABLE));
  model.Apply(Presence(10, v1::COUNSELLOR_STATE_RESERVED, "c1"));
  model.Apply(Offer(10, "c1", priority, province_name));
  return model;
}

TEST_CASE("every row of the 80x24 screen fits in 80 columns", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_EMERGENCY);
  const Grid grid = Render(model, Time(12), kMinWidth, kMinHeight);
  REQUIRE(grid.Lines().size() == 24);
  for (const std::string& line : grid.Lines()) {
    CHECK(Width(line) <= 80);
  }
}

TEST_CASE("an offer shows the province name, the wait and the countdown", "[desk]") {
  const Utc utc;
  DeskModel model = Ringing(v1::PRIORITY_NORMAL);
  // Two seconds into the offer: waited 22 s, 13 s left.
  const std::string screen = Screen(model, Time(12));
  CHECK_THAT(screen, Catch::Contains("CUỘC GỌI ĐẾN · còn 13s"));
  CHECK_THAT(screen, Catch::Contains("Tỉnh/thành   Thanh Hóa"));
  CHECK_THAT(screen, Catch::Contains("Đã chờ       22s"));
  CHECK_THAT(screen, Catch::Contains("Trả lời trong 13s"));
  CHECK_THAT(screen, Catch::Contains("Tư vấn, tâm sự"));
  CHECK_THAT(screen, Catch::Contains("**********78"));
  CHECK_THAT(screen, Catch::Contains("[Enter] NHẬN CUỘC GỌI"));
  CHECK_THAT(screen, !Catch::Contains("KHẨN CẤP"));
  // The clock in the corner is the time given.
  CHECK_THAT(screen, Catch::Contains("10:00:12"));
  // The countdown moves with the time given, and stops at 0s.
  CHECK_THAT(Screen(model, Time(24.2)), Catch::Contains("còn 1s"));
  CHECK_THAT(Screen(model, Time(40)), Catch::Contains("còn 0s"));
}

TEST_CASE("an offer from an older daemon without a province name shows the code", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_NORMAL, Lang::kVi, "");
  CHECK_THAT(Screen(model, Time(12)), Catch::Contains("Tỉnh/thành   38 "));
}

TEST_CASE("an emergency offer is marked in reverse video in both languages", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_EMERGENCY);
  const Grid grid = Render(model, Time(12), kMinWidth, kMinHeight);
  const int row = RowOf(grid, "KHẨN CẤP / EMERGENCY");
  REQUIRE(row >= 0);
  // The whole width inside the box is reverse, not only the words.
  for (int col = 1; col < kMinWidth - 1; ++col) {
    CHECK((grid.at(row, col).attr & kReverse) != 0);
  }
  model.OnKey(Char('l'));
  CHECK_THAT(Screen(model, Time(12)), Catch::Contains("KHẨN CẤP / EMERGENCY"));
}

TEST_CASE("the offer in English", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_HIGH, Lang::kEn);
  const std::string screen = Screen(model, Time(12));
  CHECK_THAT(screen, Catch::Contains("INCOMING CALL · answer within 13s"));
  CHECK_THAT(screen, Catch::Contains("Province     Thanh Hóa"));
  CHECK_THAT(screen, Catch::Contains("Waited       22s"));
  CHECK_THAT(screen, Catch::Contains("Priority     HIGH"));
  CHECK_THAT(screen, Catch::Contains("[Enter] ACCEPT"));
  CHECK_THAT(screen, Catch::Contains("Nguyễn Thị Lan · CALL RINGING"));
}

TEST_CASE("a repeat caller's history shows on the offer", "[desk]") {
  const Utc utc;
  DeskModel model = NewModel(Lang::kEn);
  v1::DeskEvent offer = Offer(10, "c1");
  RepeatCaller(offer, 3, v1::CATEGORY_FAMILY_RELATIONSHIPS, {1, 2});
  model.Apply(offer);
  const std::string screen = Screen(model, Time(12));
  CHECK_THAT(screen, Catch::Contains("REPEAT CALLER: 3 calls in 7 days · HAS SPOKEN WITH YOU"));
  CHECK_THAT(screen, Catch::Contains("Last time: Family relationships"));
  CHECK_THAT(screen, Catch::Contains("Recent: 01/06 10:00 (you); 31/05 10:00"));
}

TEST_CASE("the call shows its talk time from the connection and its summary", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_NORMAL);
  const Request accept = model.OnKey(Press(Kind::kEnter));
  model.OnAnswerOffer(accept, "", false);
  CHECK_THAT(Screen(model, Time(11)), Catch::Contains("ĐANG NỐI MÁY"));
  model.Apply(Presence(11, v1::COUNSELLOR_STATE_ON_CALL, "c1"));
  model.Apply(Connected(12, "c1"));
  const std::string screen = Screen(model, Time(12 + 83));
  CHECK_THAT(screen, Catch::Contains("ĐANG NGHE MÁY · c1"));
  CHECK_THAT(screen, Catch::Contains("Thời gian nói 1m23s"));
  CHECK_THAT(screen, Catch::Contains("Tỉnh/thành   Thanh Hóa"));
  CHECK_THAT(screen, Catch::Contains("Đã chờ       22s"));
  CHECK_THAT(screen, Catch::Contains("K Không nối lại"));
  model.OnKey(Char('k'));
  CHECK_THAT(Screen(model, Time(100)),
             Catch::Contains("KHÔNG BAO GIỜ nối người gọi này tới bạn nữa? Y: đồng ý"));
}

TEST_CASE("the wrap-up form counts down, then says the disposition will be late", "[desk]") {
  DeskModel model = NewModel();
  model.Apply(WrapUp(100, "c1", 45));
  std::string screen = Screen(model, Time(110));
  CHECK_THAT(screen, Catch::Contains("GHI KẾT QUẢ · c1"));
  CHECK_THAT(screen, Catch::Contains("Còn 35s"));
  CHECK_THAT(screen, Catch::Contains("( ) Bạo lực thể chất"));
  CHECK_THAT(screen, Catch::Contains("( ) Tư vấn"));
  CHECK_THAT(screen, Catch::Contains("[ ] Im lặng"));
  CHECK_THAT(screen, Catch::Contains("[ ] Cuộc gọi nặng nề"));
  CHECK_THAT(screen, Catch::Contains("GHI CHÚ (N) (0/2000 byte)"));
  model.OnKey(Press(Kind::kDown));
  model.OnKey(Char(' '));
  screen = Screen(model, Time(146));
  CHECK_THAT(screen, Catch::Contains("(*) Bạo lực tinh thần"));
  CHECK_THAT(screen, Catch::Contains("QUÁ HẠN: vẫn gửi được, kết quả sẽ được ghi là MUỘN."));
  model.OnKey(Char('l'));
  CHECK_THAT(Screen(model, Time(146)),
             Catch::Contains("PAST THE DEADLINE: still send it; it will be recorded as LATE."));
}

TEST_CASE("an offer over a late form stands out and the form is still there", "[desk]") {
  DeskModel model = NewModel();
  model.Apply(WrapUp(0, "c1", 45));
  model.Apply(Presence(45, v1::COUNSELLOR_STATE_AVAILABLE));
  model.Apply(Offer(50, "c2", v1::PRIORITY_EMERGENCY));
  const Grid grid = Render(model, Time(51), kMinWidth, kMinHeight);
  CHECK(RowOf(grid, "CUỘC GỌI ĐẾN") == 2);
  CHECK(RowOf(grid, "KHẨN CẤP / EMERGENCY") == 3);
  CHECK(RowOf(grid, "( ) Khác") > 12);
  CHECK(RowOf(grid, "Enter Nhận cuộc gọi") == 23);
}

TEST_CASE("the idle screen shows the break reason the daemon reports and the figures", "[desk]") {
  DeskModel model = NewModel();
  model.Apply(Presence(0, v1::COUNSELLOR_STATE_BREAK, "", v1::BREAK_REASON_MISSED_OFFERS));
  std::string screen = Screen(model, Time(65));
  CHECK_THAT(screen, Catch::Contains("Nguyễn Thị Lan · NGHỈ 1m05s"));
  CHECK_THAT(screen, Catch::Contains("Bạn đang NGHỈ (lỡ liên tiếp cuộc gọi mời)"));
  CHECK_THAT(screen, Catch::Contains("Đang tải số liệu"));
  model.OnFiguresUnavailable(Time(1));
  CHECK_THAT(Screen(model, Time(2)), Catch::Contains("máy chủ này chưa cung cấp"));
  v1::ShiftFiguresResponse figures;
  figures.set_offers(4);
  figures.set_accepted(2);
  figures.set_declined(1);
  figures.set_missed(1);
  figures.set_calls_answered(2);
  figures.mutable_talk_time()->set_seconds(320);
  figures.mutable_mean_talk_time()->set_seconds(160);
  figures.set_late_dispositions(1);
  model.OnFigures(figures, Time(2));
  model.OnKey(Char('l'));
  screen = Screen(model, Time(3));
  CHECK_THAT(screen, Catch::Contains("You are ON BREAK (missed offers in a row)"));
  CHECK_THAT(screen, Catch::Contains("Offers 4   Accepted 2   Declined 1   Missed 1"));
  CHECK_THAT(screen, Catch::Contains("Calls 2   Talk time 5m20s (mean 2m40s)   Heavy 0"));
  CHECK_THAT(screen, Catch::Contains("Recorded late 1"));
}

TEST_CASE("a dropped stream says reconnecting and names the daemon's address", "[desk]") {
  DeskModel model = NewModel();
  model.Apply(Presence(0, v1::COUNSELLOR_STATE_AVAILABLE));
  model.OnWatchLost("error: UNAVAILABLE: failed to connect", Time(14));
  const std::string screen = Screen(model, Time(10));
  CHECK_THAT(screen,
             Catch::Contains("ĐANG KẾT NỐI LẠI… / reconnecting… 127.0.0.1:50051 · thử lại sau 4s"));
  CHECK_THAT(screen, Catch::Contains("error: UNAVAILABLE: failed to connect"));
}

TEST_CASE("a long error wraps onto the two status rows", "[desk]") {
  DeskModel model = NewModel();
  model.ShowError(
      "error: FAILED_PRECONDITION: counsellor 'lan' is not in wrap-up for call 'sim-1-call-1' "
      "(the wrap-up may have ended)");
  const Grid grid = Render(model, Time(0), kMinWidth, kMinHeight);
  CHECK_THAT(grid.Line(21), Catch::StartsWith("error: FAILED_PRECONDITION"));
  CHECK_THAT(grid.Line(22), Catch::Contains("(the wrap-up may have ended)"));
}

TEST_CASE("an error's hint keeps its own status row however long the error", "[desk]") {
  DeskModel model = NewModel();
  model.ShowError(
      "error: UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: "
      "ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused\n  hotlined is "
      "not answering at 127.0.0.1:1: is it running?");
  const Grid grid = Render(model, Time(0), kMinWidth, kMinHeight);
  CHECK_THAT(grid.Line(21), Catch::StartsWith("error: UNAVAILABLE"));
  CHECK_THAT(grid.Line(21), Catch::EndsWith("…"));
  CHECK(grid.Line(22) == "hotlined is not answering at 127.0.0.1:1: is it running?");
}

TEST_CASE("a terminal smaller than 80x24 is told so instead of drawn", "[desk]") {
  DeskModel model = Ringing(v1::PRIORITY_EMERGENCY);
  const Grid small = Render(model, Time(12), 60, 20);
  CHECK(small.Line(0) == "Cửa sổ quá nhỏ (60x20). Hãy mở rộng tới ít nhất 80x24.");
  CHECK(RowOf(small, "CUỘC GỌI") == -1);
  model.OnKey(Char('l'));
  CHECK(Render(model, Time(12), 79, 24).Line(0) ==
        "The window is too small (79x24). Make it at least 80x24.");
  // A larger one draws the screen.
  CHECK(RowOf(Render(model, Time(12), 120, 40), "INCOMING CALL") == 2);
}

TEST_CASE("the grid puts a combining tone with its letter and cuts at the edge", "[desk]") {
  Grid grid(5, 1);
  // "Hoà" with the grave accent typed apart (U+0300) still takes three cells.
  CHECK(grid.Put(0, 0, "Hoa\xCC\x80xyz") == 5);
  CHECK(grid.Line(0) == "Hoa\xCC\x80xy");
  CHECK(grid.at(0, 2).glyph == "a\xCC\x80");
}

// Not a check: prints the screens docs/desk.md shows (build/tests/desk/desk_test '[.docs]').
TEST_CASE("the screens of docs/desk.md", "[.docs]") {
  const Utc utc;
  DeskModel offer = NewModel();
  offer.Apply(Presence(0, v1::COUNSELLOR_STATE_AVAILABLE));
  v1::DeskEvent ringing = Offer(10, "gw1-call-1042", v1::PRIORITY_EMERGENCY);
  RepeatCaller(ringing, 2, v1::CATEGORY_VIOLENCE_EMOTIONAL, {1 + 1.0 / 24, 3});
  offer.Apply(Presence(10, v1::COUNSELLOR_STATE_RESERVED, "gw1-call-1042"));
  offer.Apply(ringing);
  v1::ShiftFiguresResponse figures;
  figures.set_offers(5);
  figures.set_accepted(4);
  figures.set_missed(1);
  figures.set_calls_answered(4);
  figures.mutable_talk_time()->set_seconds(2710);
  figures.mutable_mean_talk_time()->set_seconds(677);
  figures.set_heavy(1);
  offer.OnFigures(figures, Time(0));
  for (const std::string& line : Render(offer, Time(14), kMinWidth, kMinHeight).Lines()) {
    std::printf("%s\n", line.c_str());
  }
  std::printf("\n");
  DeskModel form = NewModel();
  form.Apply(Presence(0, v1::COUNSELLOR_STATE_WRAP_UP, "gw1-call-1042"));
  v1::DeskEvent wrap_up = WrapUp(0, "gw1-call-1042", 45);
  form.Apply(wrap_up);
  for (int i = 0; i < 7; ++i) {
    form.OnKey(Press(Kind::kDown));
  }
  form.OnKey(Char(' '));
  form.OnKey(Press(Kind::kDown));
  form.OnKey(Press(Kind::kDown));
  form.OnKey(Char(' '));
  form.OnKey(Char('n'));
  for (char32_t c : std::u32string(U"Em lo bố mẹ ly hôn; hẹn gọi lại tối mai")) {
    form.OnKey(Key::Char(c));
  }
  for (const std::string& line : Render(form, Time(31), kMinWidth, kMinHeight).Lines()) {
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace
}  // namespace hotline::clients::desk
