// The desk's terminal, through ncurses: copies a rendered grid to the screen and reads keys. The
// only file that sees curses (whose macros, e.g. OK, clash with gRPC's names).
//
// Not thread-safe: the screen thread owns it.
#pragma once

#include <cstdint>
#include <optional>

#include "clients/desk/desk_model.h"
#include "clients/desk/desk_screen.h"

namespace hotline::clients::desk {

// Set up on construction, given back on destruction (also on the way out of an error), so the
// counsellor's shell is never left in raw mode.
class Terminal final {
 public:
  Terminal();
  ~Terminal();

  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // The terminal's size now (it changes when the window is resized).
  int width() const;
  int height() const;

  // Copies `grid` to the screen: runs of cells with the same marks at a time.
  void Blit(const Grid& grid);
  // The terminal's bell.
  void Bell();
  // The next key, or nullopt when none came within a frame (a fifth of a second) or the window
  // was resized (the next frame is drawn at the new size).
  std::optional<Key> NextKey();

 private:
  // The curses attributes for a cell's marks.
  int Marks(uint8_t attr) const;

  bool colours_ = false;
};

}  // namespace hotline::clients::desk
