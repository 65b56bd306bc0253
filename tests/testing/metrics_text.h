// Reading GET /metrics' text (daemon/metrics.h) in tests: the value of one sample.
#pragma once

#include <optional>
#include <sstream>
#include <string>

namespace hotline::testing {

// The value of the sample `series`, written as it is rendered: the name and any labels, e.g.
// `hotline_waiting_calls{priority="normal"}`. Empty if no line holds it.
inline std::optional<double> SampleValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace hotline::testing
