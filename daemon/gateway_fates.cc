#include "daemon/gateway_fates.h"

namespace hotline::daemon {

GatewayFates::Record* GatewayFates::Lookup(std::string_view call_id) const {
  auto it = index_.find(call_id);
  // The set holds const pointers; the records are ours to change (never their key).
  return it == index_.end() ? nullptr : const_cast<Record*>(*it);
}

void GatewayFates::Add(std::string_view call_id, std::string_view gateway_id,
                       routing::Outcome outcome, routing::Timestamp finished_at,
                       bool offer_callback) {
  Forget(call_id);
  Record& r = records_.emplace_back();
  r.call_id.assign(call_id.begin(), call_id.end());
  r.gateway = gateways_.Acquire(gateway_id);
  r.outcome = static_cast<uint8_t>(outcome);
  r.finished_at = finished_at;
  r.offer_callback = offer_callback;
  index_.insert(&r);
}

std::optional<GatewayFates::Fate> GatewayFates::Find(std::string_view call_id) const {
  const Record* r = Lookup(call_id);
  if (r == nullptr) {
    return std::nullopt;
  }
  return Fate{gateways_.Name(r->gateway), static_cast<routing::Outcome>(r->outcome), r->finished_at,
              r->offer_callback};
}

void GatewayFates::Finished(std::string_view call_id, std::string_view gateway_id,
                            routing::Outcome outcome, routing::Timestamp finished_at) {
  const Record* had = Lookup(call_id);
  Add(call_id, gateway_id, outcome, finished_at, had != nullptr && had->offer_callback);
}

void GatewayFates::CallbackOffered(std::string_view call_id, std::string_view gateway_id) {
  if (Record* r = Lookup(call_id)) {
    const uint32_t gateway = gateways_.Acquire(gateway_id);  // First: it may be the same id.
    gateways_.Release(r->gateway);
    r->gateway = gateway;
    r->offer_callback = true;
    return;
  }
  // Before the call finished: Finished moves it to the back with its time.
  Add(call_id, gateway_id, routing::Outcome::kFailed, routing::Timestamp{}, true);
}

void GatewayFates::Restore(std::string_view call_id, const Fate& fate) {
  Add(call_id, fate.gateway_id, fate.outcome, fate.finished_at, fate.offer_callback);
}

void GatewayFates::Forget(std::string_view call_id) {
  // Its record stays in the order until ForgetBefore reaches it, no longer indexed.
  index_.erase(call_id);
}

void GatewayFates::ForgetBefore(routing::Timestamp before) {
  while (!records_.empty() && records_.front().finished_at < before) {
    const Record& r = records_.front();
    // A call id finished again later is kept: the index points at its newer record.
    if (auto it = index_.find(KeyOf(r)); it != index_.end() && *it == &r) {
      index_.erase(it);
    }
    gateways_.Release(r.gateway);
    records_.pop_front();
  }
}

}  // namespace hotline::daemon
