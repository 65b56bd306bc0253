#include "routing/call_memory.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "routing/check.h"
#include "routing/string_hash.h"

namespace hotline::routing {
namespace {

// The value of each lowercase hex digit, by byte; -1 for every other byte (upper case too: such
// a key is kept as it is, so it unpacks as it came). A table, not comparisons: every call's
// arrival, answer and finish packs its caller's 64 digits (issue 11).
constexpr std::array<int8_t, 256> kHexValues = [] {
  std::array<int8_t, 256> values{};
  for (int8_t& v : values) {
    v = -1;
  }
  for (int i = 0; i < 10; ++i) {
    values['0' + i] = static_cast<int8_t>(i);
  }
  for (int i = 0; i < 6; ++i) {
    values['a' + i] = static_cast<int8_t>(10 + i);
  }
  return values;
}();

constexpr char kHexDigits[] = "0123456789abcdef";

// A slot for a new entry: one let go before (on `free`), or else a new one at the back.
template <typename T>
uint32_t TakeSlot(std::deque<T>& slots, std::vector<uint32_t>& free) {
  if (free.empty()) {
    slots.emplace_back();
    return static_cast<uint32_t>(slots.size() - 1);
  }
  const uint32_t slot = free.back();
  free.pop_back();
  return slot;
}

}  // namespace

uint32_t NameTable::Intern(std::string_view name) {
  if (std::optional<uint32_t> handle = Find(name)) {
    return *handle;
  }
  const auto handle = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  handles_.emplace(names_.back(), handle);
  return handle;
}

std::optional<uint32_t> NameTable::Find(std::string_view name) const {
  if (auto it = handles_.find(name); it != handles_.end()) {
    return it->second;
  }
  return std::nullopt;
}

CallMemory::CallMemory() : caller_index_(0, CallerHash{this}, CallerEq{this}) {
  categories_.Intern("");  // 0: no category yet.
}

// --- Caller keys. ---

CallMemory::PackedKey CallMemory::Pack(std::string_view key) {
  PackedKey packed;
  if (key.size() == 2 * packed.bytes.size()) {
    // All 32 bytes, then one test: any byte not a digit makes its value negative, and the OR of
    // all of them too.
    int any_not_hex = 0;
    for (size_t i = 0; i < packed.bytes.size(); ++i) {
      const int high = kHexValues[static_cast<unsigned char>(key[2 * i])];
      const int low = kHexValues[static_cast<unsigned char>(key[2 * i + 1])];
      any_not_hex |= high | low;
      packed.bytes[i] = static_cast<char>(high * 16 + low);
    }
    if (any_not_hex >= 0) {
      packed.form = PackedKey::kHex;
      return packed;
    }
    packed.bytes = {};
  }
  if (key.size() <= packed.bytes.size()) {
    std::copy(key.begin(), key.end(), packed.bytes.begin());
    packed.form = static_cast<uint8_t>(key.size());
  } else {
    packed.form = PackedKey::kLong;
  }
  return packed;
}

std::string CallMemory::Unpack(uint32_t caller) const {
  const PackedKey& packed = callers_[caller].key;
  if (packed.form == PackedKey::kLong) {
    return long_keys_.at(caller);
  }
  if (packed.form == PackedKey::kHex) {
    std::string key;
    key.reserve(2 * packed.bytes.size());
    for (char byte : packed.bytes) {
      const auto b = static_cast<unsigned char>(byte);
      key.push_back(kHexDigits[b >> 4]);
      key.push_back(kHexDigits[b & 15]);
    }
    return key;
  }
  return std::string(packed.bytes.data(), packed.form);
}

size_t CallMemory::HashKey(const PackedKey& packed, std::string_view long_key) {
  if (packed.form == PackedKey::kLong) {
    return HashString(long_key) ^ packed.form;
  }
  const size_t used = packed.form == PackedKey::kHex ? packed.bytes.size() : packed.form;
  return HashString(std::string_view(packed.bytes.data(), used)) ^ packed.form;
}

size_t CallMemory::CallerHash::operator()(uint32_t caller) const {
  const PackedKey& packed = memory->callers_[caller].key;
  return HashKey(packed, packed.form == PackedKey::kLong
                             ? std::string_view(memory->long_keys_.at(caller))
                             : std::string_view());
}

size_t CallMemory::CallerHash::operator()(const Probe& probe) const {
  return HashKey(probe.packed, probe.key);
}

bool CallMemory::CallerEq::operator()(uint32_t a, const Probe& b) const {
  const PackedKey& packed = memory->callers_[a].key;
  if (!(packed == b.packed)) {
    return false;
  }
  return packed.form != PackedKey::kLong || memory->long_keys_.at(a) == b.key;
}

std::optional<uint32_t> CallMemory::FindCaller(std::string_view key) const {
  auto it = caller_index_.find(Probe{Pack(key), key});
  if (it == caller_index_.end()) {
    return std::nullopt;
  }
  return *it;
}

uint32_t CallMemory::AcquireCaller(std::string_view key) {
  const Probe probe{Pack(key), key};
  if (auto it = caller_index_.find(probe); it != caller_index_.end()) {
    return *it;
  }
  const uint32_t caller = TakeSlot(callers_, free_callers_);
  callers_[caller].key = probe.packed;
  if (probe.packed.form == PackedKey::kLong) {
    long_keys_.emplace(caller, key);
  }
  caller_index_.insert(caller);  // After the key is in place: the index hashes it.
  return caller;
}

uint32_t CallMemory::Hold(std::string_view caller_key) {
  if (caller_key.empty()) {
    return kNoCaller;
  }
  const uint32_t caller = AcquireCaller(caller_key);
  ++callers_[caller].names;
  return caller;
}

uint32_t CallMemory::HoldKnown(std::string_view caller_key) {
  if (caller_key.empty()) {
    // A withheld number, even where an old snapshot saved a contact under the empty key.
    return kNoCaller;
  }
  const std::optional<uint32_t> caller = FindCaller(caller_key);
  if (!caller) {
    return kNoCaller;
  }
  ++callers_[*caller].names;
  return *caller;
}

void CallMemory::LetGo(uint32_t caller) {
  if (caller == kNoCaller) {
    return;
  }
  HOTLINE_CHECK(callers_[caller].names > 0);
  --callers_[caller].names;
  MaybeRelease(caller);
}

absl::Status CallMemory::CheckNames(const std::vector<uint32_t>& held) const {
  absl::flat_hash_map<uint32_t, uint32_t> names;
  for (const Finished& f : finished_) {
    if (f.caller != kNoCaller) {
      ++names[f.caller];
    }
  }
  for (uint32_t caller : held) {
    ++names[caller];
  }
  for (const auto& [caller, count] : names) {
    if (!caller_index_.contains(caller)) {
      return absl::InternalError(absl::StrCat("caller ", caller, " is named but not held"));
    }
  }
  for (uint32_t caller : caller_index_) {
    const auto it = names.find(caller);
    const uint32_t expected = it == names.end() ? 0 : it->second;
    if (callers_[caller].names != expected) {
      return absl::InternalError(absl::StrCat("caller ", caller, " counts ", callers_[caller].names,
                                              " names, not ", expected));
    }
  }
  return absl::OkStatus();
}

void CallMemory::MaybeRelease(uint32_t caller) {
  Caller& c = callers_[caller];
  if (c.names > 0 || c.contacts != kNoContacts) {
    return;
  }
  caller_index_.erase(caller);  // Before the key goes: the index hashes it.
  long_keys_.erase(caller);
  c = Caller{};
  free_callers_.push_back(caller);
}

// --- Finished calls. ---

void CallMemory::AddFinished(Timestamp at, std::string_view call_id, std::string_view caller_key,
                             std::string_view gateway_id, Outcome outcome, bool offer_callback) {
  AddFinished(at, call_id, caller_key.empty() ? kNoCaller : AcquireCaller(caller_key), gateway_id,
              outcome, offer_callback);
}

void CallMemory::AddFinished(Timestamp at, std::string_view call_id, uint32_t caller,
                             std::string_view gateway_id, Outcome outcome, bool offer_callback) {
  AddFinishedOf(at, call_id, caller);
  Finished& f = finished_.back();
  const uint32_t gateway = gateways_.Acquire(gateway_id);
  HOTLINE_CHECK(gateway < kNoGateway);  // Fewer names than records: 2^28 finished calls a day.
  f.gateway = gateway;
  f.outcome = static_cast<uint32_t>(outcome) & 7;
  f.offer_callback = offer_callback ? 1 : 0;
}

void CallMemory::AddFinished(Timestamp at, std::string_view call_id, std::string_view caller_key) {
  AddFinishedOf(at, call_id, caller_key.empty() ? kNoCaller : AcquireCaller(caller_key));
}

void CallMemory::AddFinishedOf(Timestamp at, std::string_view call_id, uint32_t caller) {
  if (caller != kNoCaller) {
    ++callers_[caller].names;
  }
  Finished& f = finished_.emplace_back();
  f.at = at;
  f.call_id = Text(call_id);
  f.caller = caller;
  finished_index_.insert(&f);  // A repeated id keeps the first.
}

std::optional<FinishedFate> CallMemory::FateOfRecord(const Finished& f) const {
  if (f.gateway == kNoGateway) {
    return std::nullopt;
  }
  return FinishedFate{std::string(View(f.call_id)), f.at, std::string(gateways_.Name(f.gateway)),
                      static_cast<Outcome>(f.outcome), f.offer_callback != 0};
}

std::optional<FinishedFate> CallMemory::FateOf(std::string_view call_id) const {
  auto it = finished_index_.find(call_id);
  if (it == finished_index_.end()) {
    return std::nullopt;
  }
  return FateOfRecord(**it);
}

bool CallMemory::IsFinished(std::string_view call_id) const {
  return finished_index_.contains(call_id);
}

std::optional<std::string> CallMemory::CallerOfFinished(std::string_view call_id) const {
  auto it = finished_index_.find(call_id);
  if (it == finished_index_.end()) {
    return std::nullopt;
  }
  return (*it)->caller == kNoCaller ? std::string() : Unpack((*it)->caller);
}

void CallMemory::ForgetFinishedThrough(Timestamp through) {
  while (!finished_.empty() && finished_.front().at <= through) {
    const Finished& f = finished_.front();
    if (auto it = finished_index_.find(View(f.call_id)); it != finished_index_.end() && *it == &f) {
      finished_index_.erase(it);
    }
    const uint32_t caller = f.caller;
    if (f.gateway != kNoGateway) {
      gateways_.Release(f.gateway);
    }
    finished_.pop_front();
    if (caller != kNoCaller) {
      --callers_[caller].names;
      MaybeRelease(caller);
    }
  }
}

void CallMemory::ForEachFinished(
    const std::function<void(Timestamp, std::string_view, std::string_view,
                             const std::optional<FinishedFate>&)>& fn) const {
  for (const Finished& f : finished_) {
    const std::string caller = f.caller == kNoCaller ? std::string() : Unpack(f.caller);
    fn(f.at, View(f.call_id), caller, FateOfRecord(f));
  }
}

// --- Contacts. ---

const CallMemory::ContactList* CallMemory::ContactsOfCaller(uint32_t caller) const {
  const uint32_t list = callers_[caller].contacts;
  return list == kNoContacts ? nullptr : &contact_lists_[list];
}

CallMemory::ContactList* CallMemory::ContactsOfCaller(uint32_t caller) {
  const uint32_t list = callers_[caller].contacts;
  return list == kNoContacts ? nullptr : &contact_lists_[list];
}

CallMemory::ContactList& CallMemory::ContactListFor(uint32_t caller) {
  uint32_t& list = callers_[caller].contacts;
  if (list == kNoContacts) {
    list = TakeSlot(contact_lists_, free_contact_lists_);
  }
  return contact_lists_[list];
}

void CallMemory::MaybeReleaseContacts(uint32_t caller) {
  uint32_t& list = callers_[caller].contacts;
  if (list == kNoContacts || !contact_lists_[list].empty()) {
    return;
  }
  ContactList().swap(contact_lists_[list]);  // Its allocation too, if it had one.
  free_contact_lists_.push_back(list);
  list = kNoContacts;
}

Contact CallMemory::ToContact(const StoredContact& stored) const {
  return Contact{std::string(View(stored.call_id)), counsellors_.Name(stored.counsellor),
                 stored.answered_at, categories_.Name(stored.category)};
}

CallMemory::StoredContact CallMemory::ToStored(const Contact& contact) {
  return StoredContact{contact.answered_at, Text(contact.call_id),
                       counsellors_.Intern(contact.counsellor_id),
                       categories_.Intern(contact.category)};
}

void CallMemory::AddContact(std::string_view caller_key, const Contact& contact) {
  AddContact(AcquireCaller(caller_key), contact);
}

void CallMemory::AddContact(uint32_t caller, const Contact& contact) {
  StoredContact stored = ToStored(contact);  // First: if it throws, no empty list is left held.
  ContactList& contacts = ContactListFor(caller);
  const auto before = [](const StoredContact& a, const StoredContact& b) {
    return std::forward_as_tuple(a.answered_at, View(a.call_id)) <
           std::forward_as_tuple(b.answered_at, View(b.call_id));
  };
  contacts.insert(std::upper_bound(contacts.begin(), contacts.end(), stored, before),
                  std::move(stored));
  if (contacts.size() > static_cast<size_t>(kMaxContactsPerCaller)) {
    contacts.erase(contacts.begin());
  }
}

void CallMemory::RestoreContact(std::string_view caller_key, const Contact& contact) {
  StoredContact stored = ToStored(contact);
  ContactListFor(AcquireCaller(caller_key)).push_back(std::move(stored));
}

std::optional<Contact> CallMemory::LastContact(std::string_view caller_key) const {
  return LastContact(FindCaller(caller_key).value_or(kNoCaller));
}

std::optional<Contact> CallMemory::LastContact(uint32_t caller) const {
  const ContactList* contacts = caller != kNoCaller ? ContactsOfCaller(caller) : nullptr;
  if (!contacts || contacts->empty()) {
    return std::nullopt;
  }
  return ToContact(contacts->back());
}

std::vector<Contact> CallMemory::ContactsOf(std::string_view caller_key) const {
  std::vector<Contact> contacts;
  const std::optional<uint32_t> caller = FindCaller(caller_key);
  if (const ContactList* stored = caller ? ContactsOfCaller(*caller) : nullptr) {
    for (const StoredContact& s : *stored) {
      contacts.push_back(ToContact(s));
    }
  }
  return contacts;
}

void CallMemory::NoteCategory(std::string_view caller_key, std::string_view call_id,
                              std::string_view category) {
  NoteCategory(FindCaller(caller_key).value_or(kNoCaller), call_id, category);
}

void CallMemory::NoteCategory(uint32_t caller, std::string_view call_id,
                              std::string_view category) {
  ContactList* contacts = caller != kNoCaller ? ContactsOfCaller(caller) : nullptr;
  if (!contacts) {
    return;
  }
  for (StoredContact& stored : *contacts) {
    if (View(stored.call_id) == call_id) {
      stored.category = categories_.Intern(category);
    }
  }
}

void CallMemory::ForgetContactsThrough(Timestamp through) {
  // Rare (the engine sweeps hourly), so a pass over every caller; releasing a caller only
  // changes its own slot and the index, which is not walked here.
  for (uint32_t caller = 0; caller < callers_.size(); ++caller) {
    ContactList* contacts = ContactsOfCaller(caller);
    if (!contacts) {
      continue;
    }
    contacts->erase(
        std::remove_if(contacts->begin(), contacts->end(),
                       [&](const StoredContact& s) { return s.answered_at <= through; }),
        contacts->end());
    MaybeReleaseContacts(caller);
    MaybeRelease(caller);
  }
}

std::vector<std::pair<std::string, Contact>> CallMemory::AllContacts() const {
  std::vector<std::pair<std::string, uint32_t>> keys;
  for (uint32_t caller : caller_index_) {
    if (callers_[caller].contacts != kNoContacts) {
      keys.emplace_back(Unpack(caller), caller);
    }
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<std::string, Contact>> all;
  for (auto& [key, caller] : keys) {
    for (const StoredContact& stored : *ContactsOfCaller(caller)) {
      all.emplace_back(key, ToContact(stored));
    }
  }
  return all;
}

void CallMemory::Clear() {
  finished_index_.clear();
  finished_.clear();
  caller_index_.clear();
  long_keys_.clear();
  callers_.clear();
  free_callers_.clear();
  contact_lists_.clear();
  free_contact_lists_.clear();
  gateways_ = CountedNames();
}

}  // namespace hotline::routing
