// What a counsellor types at hotline-desk, parsed into what the desk should do. Pure: no I/O, so
// the grammar can be tested on its own.
#pragma once

#include <absl/status/statusor.h>

#include <string>
#include <string_view>

#include "hotline/v1/common.pb.h"

namespace hotline::clients {

// One parsed input line.
struct DeskCommand {
  enum class Kind {
    kNothing,      // A blank line.
    kPresence,     // available | break | offline
    kAnswer,       // accept [call_id] | decline [call_id]
    kDisposition,  // dispo CATEGORY ACTION [heavy] [flags=F,...] [break] [note...]
    kNeverRoute,   // never [call_id]
    kHelp,
    kQuit,
  };
  Kind kind = Kind::kNothing;
  // kPresence: AVAILABLE, BREAK or OFFLINE.
  hotline::v1::CounsellorState state = hotline::v1::COUNSELLOR_STATE_UNSPECIFIED;
  // kPresence with BREAK: the reason named (`break meal`), else UNSPECIFIED.
  hotline::v1::BreakReason break_reason = hotline::v1::BREAK_REASON_UNSPECIFIED;
  // kAnswer.
  bool accept = false;
  // kAnswer: the call to answer; empty means the offer ringing now.
  // kNeverRoute: the call whose caller to avoid; empty means the call in wrap-up, else the last
  // call the desk saw.
  std::string call_id;
  // kDisposition.
  hotline::v1::Disposition disposition;
  // kDisposition: false ("break") leaves the counsellor on BREAK after recording it.
  bool ready_for_next = true;
};

// Parses one line. INVALID_ARGUMENT with a message for the counsellor when it is not a command.
absl::StatusOr<DeskCommand> ParseDeskCommand(std::string_view line);

// Parses --auto-disposition's "CATEGORY:ACTION", e.g. "family_relationships:counselled".
absl::StatusOr<hotline::v1::Disposition> ParseCategoryAction(std::string_view text);

// The `help` text: one command a line.
std::string DeskHelp();

}  // namespace hotline::clients
