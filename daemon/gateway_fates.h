// What the daemon remembers of each recently finished call for the gateway that held it: the
// gateway, the outcome, when it finished and whether the caller is to be offered a callback. A
// gateway's Hello that still lists the call learns its fate from it, and a final event resent
// after a reconnect is answered from it (gateway.proto, reconciliation).
//
// Kept compact (issue 11): one record per finished call for as long as the engine remembers
// finished call ids (a day), in the order they finished, the call id stored once (inline up to
// 24 bytes) and the gateway as a number into a table of the gateway ids the records name (a
// helpline has a few gateways; an id leaves the table with the last record naming it, so a
// gateway inventing ids grows it no more than the records themselves); a hash set of pointers
// to the record of each call id. A record takes 48 bytes, plus its slot in the set (72 with the
// gateway id inline; about 200 as a std::map by call id with a second copy of the id for expiry).
//
// Not thread-safe: owned by the engine host, on the engine thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "routing/counted_names.h"
#include "routing/pointer_set.h"
#include "routing/types.h"

namespace hotline::daemon {

class GatewayFates final {
 public:
  struct Fate {
    std::string_view gateway_id;  // Valid until this GatewayFates next changes.
    routing::Outcome outcome = routing::Outcome::kFailed;
    routing::Timestamp finished_at{};
    bool offer_callback = false;
  };

  GatewayFates() = default;
  GatewayFates(const GatewayFates&) = delete;  // The index points into the records.
  GatewayFates& operator=(const GatewayFates&) = delete;

  // The fate of `call_id`, or nullopt.
  std::optional<Fate> Find(std::string_view call_id) const;
  // The call finished: its gateway, outcome and time. A callback already offered for it stays
  // offered (the engine may offer it just before it finishes the call).
  void Finished(std::string_view call_id, std::string_view gateway_id, routing::Outcome outcome,
                routing::Timestamp finished_at);
  // The call's caller is to be offered a callback (before or after Finished, in one input).
  void CallbackOffered(std::string_view call_id, std::string_view gateway_id);
  // The whole fate, as restored from a snapshot or a `calls` row; replaces any held.
  void Restore(std::string_view call_id, const Fate& fate);
  // Forgets the call's fate: a new call arrived under its id.
  void Forget(std::string_view call_id);
  // Forgets the fates of calls that finished before `before`, oldest first, up to the first
  // record that finished at or after it.
  void ForgetBefore(routing::Timestamp before);
  // Call ids remembered.
  size_t size() const { return index_.size(); }
  // Distinct gateway ids the records name (for tests).
  size_t gateway_ids() const { return gateways_.size(); }

 private:
  using CallId = absl::InlinedVector<char, 24>;
  struct Record {
    CallId call_id;
    routing::Timestamp finished_at{};
    uint32_t gateway = 0;  // In gateways_.
    uint8_t outcome = 0;   // A routing::Outcome.
    bool offer_callback = false;
  };
  static_assert(sizeof(Record) == 48);
  static std::string_view KeyOf(const Record& r) { return {r.call_id.data(), r.call_id.size()}; }
  Record* Lookup(std::string_view call_id) const;

  // A new record for the call at the back, in place of any it had: the records stay in the
  // order the calls finished, which ForgetBefore relies on.
  void Add(std::string_view call_id, std::string_view gateway_id, routing::Outcome outcome,
           routing::Timestamp finished_at, bool offer_callback);

  // In the order added; pointers into it stay valid as it grows at the back and shrinks at the
  // front.
  std::deque<Record> records_;
  // The record of each call id remembered.
  routing::PointerSet<Record, &KeyOf> index_;
  // The gateway ids the records name.
  routing::CountedNames gateways_;
};

}  // namespace hotline::daemon
