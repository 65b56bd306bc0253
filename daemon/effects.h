// The engine's effects turned into what the daemon writes and sends: a pure function.
//
// One input's effects become rows (call records, presence changes, offer changes) and messages
// (desk events, gateway commands), each list in the order the engine produced them. Offer rows
// and their ends stay in ONE sequence: an input can end an offer and make a new one to the same
// counsellor (a decline when nobody else is eligible), and splitting the two by kind once wrote an
// offer's end onto the new, still ringing row.
//
// Stateless; thread-safe. The engine is only read (counsellor views for desk events).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "hotline/v1/desk.pb.h"
#include "hotline/v1/gateway.pb.h"
#include "routing/engine.h"
#include "storage/batch.h"

namespace hotline::daemon {

namespace v1 = ::hotline::v1;

struct DeskMessage {
  std::string counsellor_id;
  v1::DeskEvent event;
};

// A command for a gateway, without its command_id: the host numbers commands as it sends them.
struct GatewayCommand {
  std::string gateway_id;
  v1::Command command;
};

using Message = std::variant<DeskMessage, GatewayCommand>;

struct Translation {
  std::vector<routing::CallRecord> calls;
  std::vector<routing::PresenceChange> presence;
  std::vector<storage::OfferChange> offers;
  std::vector<storage::LateDisposition> late_dispositions;
  std::vector<Message> messages;
};

// `at` is the engine's time for the input that produced the effects (the journal record's time):
// rows and desk events are stamped with it, or with the effect's own decision time when it
// carries one (a timer's deadline, when a late tick fired it), never with a clock read later.
Translation Translate(const std::vector<routing::Effect>& effects, routing::Timestamp at,
                      const routing::Engine& engine);

// The offers table's name of a revoke reason ("declined", "timed_out", ...).
std::string RevokeName(routing::RevokeReason reason);

}  // namespace hotline::daemon
