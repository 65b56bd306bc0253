// The text `hotlinectl queue` shows for a QueueModel: the headline figures and alerts, the
// waiting calls in queue order (emergencies marked), the calls counsellors hold, the counsellor
// board, and the figures of the last 15 minutes and of today when the daemon sends them.
//
// A pure function of the model and the time elapsed, so it is drawn the same once or on every
// redraw of `queue --watch`, and tests read it. Thread-safe as long as the model does not change.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "clients/common/queue_model.h"

namespace hotline::clients {

// The screen's lines (no newlines). `since_update` is the local time elapsed since the model's
// last update was applied: waits and times in state tick by it (QueueModel::Age).
std::vector<std::string> QueueScreen(const QueueModel& model,
                                     std::chrono::milliseconds since_update);

// The mark in front of an emergency call's row; other rows get as many spaces.
inline constexpr std::string_view kEmergencyMark = "!!";

}  // namespace hotline::clients
