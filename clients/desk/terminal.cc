#include "clients/desk/terminal.h"

#include <curses.h>
#include <termios.h>
#include <unistd.h>

#include <clocale>
#include <string>

namespace hotline::clients::desk {
namespace {

// How long a key is waited for before the screen is drawn again (the countdowns move).
constexpr int kFrameMs = 200;
// The colour pair of kAlert cells.
constexpr short kAlertPair = 1;

}  // namespace

Terminal::Terminal() {
  std::setlocale(LC_ALL, "");
  initscr();
  cbreak();
  // Ctrl-S and Ctrl-Q are keys here, not flow control: cbreak() leaves the terminal's XON/XOFF
  // on, so a Ctrl-S typed from habit while writing a note froze the screen, the bell and every
  // offer's box until Ctrl-Q. endwin() gives the shell its own modes back.
  termios modes{};
  if (tcgetattr(STDIN_FILENO, &modes) == 0) {
    modes.c_iflag &= ~static_cast<tcflag_t>(IXON);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &modes) == 0) {
      def_prog_mode();  // Kept as the program's modes, e.g. after a suspend.
    }
  }
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  curs_set(0);
  // Escape alone is a key here; arrow keys over a slow SSH link still arrive within 50 ms.
  set_escdelay(50);
  timeout(kFrameMs);
  // Colour is an extra: everything already reads in bold and reverse video.
  colours_ = has_colors();
  if (colours_) {
    start_color();
    init_pair(kAlertPair, COLOR_WHITE, COLOR_RED);
  }
}

Terminal::~Terminal() { endwin(); }

int Terminal::width() const { return COLS; }
int Terminal::height() const { return LINES; }

void Terminal::Bell() { beep(); }

int Terminal::Marks(uint8_t attr) const {
  attr_t marks = (attr & kBold) != 0 ? A_BOLD : A_NORMAL;
  if ((attr & kAlert) != 0 && colours_) {
    return static_cast<int>(marks | COLOR_PAIR(kAlertPair));  // White on red, not reversed.
  }
  marks |= (attr & kReverse) != 0 ? A_REVERSE : A_NORMAL;
  return static_cast<int>(marks);
}

void Terminal::Blit(const Grid& grid) {
  erase();
  for (int row = 0; row < grid.height(); ++row) {
    int col = 0;
    while (col < grid.width()) {
      const uint8_t attr = grid.at(row, col).attr;
      const int start = col;
      std::string run;
      while (col < grid.width() && grid.at(row, col).attr == attr) {
        run += grid.at(row, col).glyph;
        ++col;
      }
      attrset(Marks(attr));
      // The last cell of the screen returns ERR (the cursor cannot move past it) but is drawn.
      mvaddstr(row, start, run.c_str());
    }
  }
  attrset(A_NORMAL);
  refresh();
}

std::optional<Key> Terminal::NextKey() {
  wint_t ch = 0;
  const int kind = get_wch(&ch);
  if (kind == ERR) {
    return std::nullopt;
  }
  if (kind == KEY_CODE_YES) {
    switch (ch) {
      case KEY_UP:
        return Key::Of(Key::Kind::kUp);
      case KEY_DOWN:
        return Key::Of(Key::Kind::kDown);
      case KEY_BTAB:
        return Key::Of(Key::Kind::kBackTab);
      case KEY_BACKSPACE:
        return Key::Of(Key::Kind::kBackspace);
      case KEY_ENTER:
        return Key::Of(Key::Kind::kEnter);
      case KEY_RESIZE:
        return std::nullopt;
      default:
        return Key::Of(Key::Kind::kOther);
    }
  }
  switch (ch) {
    case '\r':
    case '\n':
      return Key::Of(Key::Kind::kEnter);
    case '\t':
      return Key::Of(Key::Kind::kTab);
    case 0x7F:
    case 0x08:
      return Key::Of(Key::Kind::kBackspace);
    case 0x1B:
      return Key::Of(Key::Kind::kEscape);
    default:
      return Key::Char(static_cast<char32_t>(ch));
  }
}

}  // namespace hotline::clients::desk
