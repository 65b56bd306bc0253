// Draws the desk model into a plain character grid: rows of cells, each one character (UTF-8)
// with bold and reverse marks, for a given width and height. The terminal layer only copies the
// grid to the screen, so tests read exactly what a counsellor would see, as text.
//
// The layout is made for 80x24 and reads on a monochrome terminal: what must stand out (an
// offer, an emergency, a late wrap-up) is bold or reverse video, never colour alone.
//
// Thread-safe: Render is pure; a Grid is a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clients/desk/desk_model.h"

namespace hotline::clients::desk {

// The smallest terminal the desk draws in; a smaller one is told so.
inline constexpr int kMinWidth = 80;
inline constexpr int kMinHeight = 24;

// Marks on a cell, combinable. kAlert goes with kReverse on what must not be missed (an
// emergency, a late wrap-up): a colour terminal shows it on red, a monochrome one in reverse.
enum Attr : uint8_t { kPlain = 0, kBold = 1, kReverse = 2, kAlert = 4 };

class Grid final {
 public:
  struct Cell {
    std::string glyph = " ";  // One character, with any combining marks.
    uint8_t attr = kPlain;
  };

  Grid(int width, int height);

  // Writes `text` from (row, col) on, one character a cell, cut at the right edge; returns the
  // column after the last cell written. Rows and columns outside the grid are ignored.
  int Put(int row, int col, std::string_view text, uint8_t attr = kPlain);
  // Marks cells [col, col + count) of `row` with `attr` (added to what they have).
  void Mark(int row, int col, int count, uint8_t attr);

  int width() const { return width_; }
  int height() const { return height_; }
  const Cell& at(int row, int col) const { return cells_[Index(row, col)]; }
  // Row `row` as UTF-8, trailing spaces removed.
  std::string Line(int row) const;
  // Every row, as Line gives them.
  std::vector<std::string> Lines() const;

 private:
  // REQUIRES: the cell is inside the grid.
  size_t Index(int row, int col) const {
    return static_cast<size_t>(row) * static_cast<size_t>(width_) + static_cast<size_t>(col);
  }

  int width_;
  int height_;
  std::vector<Cell> cells_;
};

// The screen for `model` at `now`, `width` x `height` cells.
Grid Render(const DeskModel& model, TimePoint now, int width, int height);

}  // namespace hotline::clients::desk
