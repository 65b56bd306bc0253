// The journal's records: building them from inputs, applying them to the engine, and converting
// the engine's whole state to and from a snapshot.
//
// ApplyRecord is the one place an engine input is applied, live or in recovery: the daemon
// builds a JournalRecord for every input, applies it with ApplyRecord, and writes it to the
// journal when it is accepted; recovery reads the same records back through the same function.
// So a replay takes exactly the decisions the live daemon took. Stateless; thread-safe.
#pragma once

#include "absl/status/status.h"
#include "hotline/v1/journal.pb.h"
#include "routing/engine.h"

namespace hotline::daemon {

namespace v1 = ::hotline::v1;

// Applies one record to the engine at the record's time. The engine's answer: OK, or the error
// that means the input was refused and changed nothing.
[[nodiscard]] absl::Status ApplyRecord(routing::Engine& engine, const v1::JournalRecord& record);

v1::CallInfoRecord ToRecord(const routing::CallInfo& call);
routing::CallInfo FromRecord(const v1::CallInfoRecord& record);
v1::DispositionRecord ToRecord(const routing::Disposition& d);
routing::Disposition FromRecord(const v1::DispositionRecord& record);
// A profile as stored (no validation: it was validated when it came in).
routing::CounsellorProfile FromRecord(const v1::Counsellor& c);

v1::PolicyRecord ToRecord(const routing::Policy& policy);
routing::Policy FromRecord(const v1::PolicyRecord& record);
v1::EngineOptionsRecord ToRecord(const routing::EngineOptions& options);
routing::EngineOptions FromRecord(const v1::EngineOptionsRecord& record);

v1::EngineSnapshot ToSnapshot(const routing::EngineState& state);
// ToSnapshot(state) with `rows` as its finished_in_calls, serialized: what the writer stores.
// The live calls are encoded one at a time and appended, so encoding holds one call's message
// rather than the whole tree of every waiting call's (docs/performance.md, "A snapshot's peak").
// Parses to the same message; the bytes differ from SerializeAsString's in the calls' place.
std::string EncodeSnapshot(const routing::EngineState& state, const v1::FinishedInCalls& rows);
routing::EngineState FromSnapshot(const v1::EngineSnapshot& snapshot);

// A short hex digest of the engine's state, for comparing the live state at shutdown with the
// state recovery rebuilds from the journal. The engine's `now` is left out: it is the time of the
// last input, and a refused input (never journaled) moves it too.
std::string StateDigest(const routing::EngineState& state);

}  // namespace hotline::daemon
