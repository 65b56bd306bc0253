// What the engine remembers of calls after they finish, kept compact (issue 11: at most about
// 200 bytes per remembered finished call, where plain strings and per-caller vectors took 515):
// - the ids of the calls finished in the last day, oldest first, each with its caller and how it
//   ended: a gateway may not reuse a recent id, a supervisor may bar a counsellor from a recent
//   call's caller, and a gateway back from an outage learns how the calls it held ended;
// - each caller's answered calls in the repeat window (their contacts), for routing a repeat
//   caller back to the counsellor they talked to and for the desk's history.
//
// How it stays small:
// - a caller's key is stored once, however many finished calls and contacts name it, and the
//   daemon's keys (64 lowercase hex digits: a keyed hash) as their 32 bytes, inline;
// - call ids of up to 24 bytes are stored inline, without an allocation of their own;
// - a caller's contacts are a list apart, taken when they are first answered: a caller who never
//   was (a call abandoned in the queue) costs 44 bytes, not 96;
// - counsellor ids and categories, which repeat across many records, are numbers into tables of
//   names (NameTable); so are gateway ids, in a table that lets a name go with its last record
//   (CountedNames), since a gateway may name itself anything;
// - how a finished call ended (its gateway's number, its outcome, the callback offered) fits in
//   the 4 bytes its record had spare: one 48-byte record per finished call.
//
// Nothing here decides anything; the engine says what to remember and when to forget. Every walk
// whose order could show (AllContacts, ForEachFinished) has a defined order, never hash order.
//
// Thread-safety: none; owned by one Engine. Neither copyable nor movable: its hash sets' functors
// point back at it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "routing/counted_names.h"
#include "routing/engine_state.h"
#include "routing/pointer_set.h"
#include "routing/string_hash.h"
#include "routing/types.h"

namespace hotline::routing {

// How many answered calls of one caller the engine remembers (the most recent).
inline constexpr int kMaxContactsPerCaller = 20;

// Names interned as numbers, for names that repeat across many records (counsellor ids,
// categories). Never shrinks: it holds every name it was ever given, so it is only for names
// from a bounded set (the administrator's counsellors, the policy's categories).
class NameTable final {
 public:
  // The name's number; a new name gets the next one (0 for the first).
  uint32_t Intern(std::string_view name);
  // The number of a name Intern was given, or nullopt: looks, never adds.
  std::optional<uint32_t> Find(std::string_view name) const;
  size_t size() const { return names_.size(); }
  // The name of a number Intern returned.
  const std::string& Name(uint32_t handle) const { return names_[handle]; }

 private:
  std::vector<std::string> names_;
  StringMap<uint32_t> handles_;
};

class CallMemory final {
 public:
  CallMemory();
  CallMemory(const CallMemory&) = delete;
  CallMemory& operator=(const CallMemory&) = delete;

  // --- Callers of live calls. ---
  //
  // A live call holds its caller by number until its row: from its arrival if the memory knows
  // them (HoldKnown), else from its answer (Hold). Its contact, category and finish then find the
  // caller with an array read, not by packing and hashing a 64-digit key again for each (issue
  // 11). A held caller is never let go while a call holds them. A waiting call of a caller the
  // memory does not know holds nothing: no caller slot is taken before one is needed (at most
  // 1 KB a waiting call).

  static constexpr uint32_t kNoCaller = ~uint32_t{0};
  // The caller's number, held until LetGo; kNoCaller, holding nothing, for an empty key (a
  // withheld number).
  uint32_t Hold(std::string_view caller_key);
  // The same for a caller the memory knows already; kNoCaller, holding nothing, otherwise (and
  // for an empty key, whatever an old snapshot saved under it).
  uint32_t HoldKnown(std::string_view caller_key);
  // Ends one Hold of `caller` (kNoCaller: nothing), letting them go if nothing else names them.
  void LetGo(uint32_t caller);
  // The key of a held caller.
  std::string KeyOf(uint32_t caller) const { return Unpack(caller); }
  // OK if each caller is named exactly by the finished calls remembered and by `held` (the
  // numbers the live calls hold, one per hold); otherwise which caller is not: for the engine's
  // invariants.
  absl::Status CheckNames(const std::vector<uint32_t>& held) const;

  // --- Finished calls, oldest first. ---

  // Remembers that `call_id` finished at `at` (not earlier than the last one added), from
  // `caller_key` (empty for a withheld number), held by gateway `gateway_id` and ended with
  // `outcome`. A repeated id (only in a hand-made state) adds an entry, but lookups find the
  // first.
  void AddFinished(Timestamp at, std::string_view call_id, std::string_view caller_key,
                   std::string_view gateway_id, Outcome outcome, bool offer_callback);
  // The same, for a held caller (kNoCaller for a withheld number).
  void AddFinished(Timestamp at, std::string_view call_id, uint32_t caller,
                   std::string_view gateway_id, Outcome outcome, bool offer_callback);
  // The same, for a call whose gateway and outcome are not known (an older daemon's state).
  void AddFinished(Timestamp at, std::string_view call_id, std::string_view caller_key);
  bool IsFinished(std::string_view call_id) const;
  // The caller key of a remembered finished call (empty for a withheld number); nullopt if the
  // call is not remembered.
  std::optional<std::string> CallerOfFinished(std::string_view call_id) const;
  // How a remembered finished call ended; nullopt if it is not remembered or its gateway is not
  // known.
  std::optional<FinishedFate> FateOf(std::string_view call_id) const;
  // Forgets the calls that finished at or before `through`.
  void ForgetFinishedThrough(Timestamp through);
  size_t finished_count() const { return finished_.size(); }
  // fn(finished at, call id, caller key, how it ended or nullopt if not known) for each
  // remembered finished call, oldest first.
  void ForEachFinished(const std::function<void(Timestamp, std::string_view, std::string_view,
                                                const std::optional<FinishedFate>&)>& fn) const;
  // Distinct gateway ids the finished calls name: for tests.
  size_t gateway_ids() const { return gateways_.size(); }

  // --- Contacts: each caller's answered calls, in the order (answered_at, call id). ---

  // Adds `contact` to the contacts of `caller_key` (which must not be empty) in that order, and
  // forgets the caller's oldest beyond kMaxContactsPerCaller.
  void AddContact(std::string_view caller_key, const Contact& contact);
  // The same, for a held caller (not kNoCaller).
  void AddContact(uint32_t caller, const Contact& contact);
  // Appends `contact` as the caller's newest, as given: for restoring a saved state, whose
  // contacts are kept in the order and number they were saved in (an older engine's snapshot
  // may hold contacts of one millisecond in the order they connected).
  void RestoreContact(std::string_view caller_key, const Contact& contact);
  // The caller's most recent contact, if any.
  std::optional<Contact> LastContact(std::string_view caller_key) const;
  // The same, for a held caller (kNoCaller: nullopt).
  std::optional<Contact> LastContact(uint32_t caller) const;
  // The caller's contacts, oldest first.
  std::vector<Contact> ContactsOf(std::string_view caller_key) const;
  // Sets the category of the caller's contact for `call_id`, if it is remembered.
  void NoteCategory(std::string_view caller_key, std::string_view call_id,
                    std::string_view category);
  // The same, for a held caller (kNoCaller: nothing).
  void NoteCategory(uint32_t caller, std::string_view call_id, std::string_view category);
  // Forgets every contact answered at or before `through`.
  void ForgetContactsThrough(Timestamp through);
  // Every contact, by caller key (sorted), each caller's oldest first.
  std::vector<std::pair<std::string, Contact>> AllContacts() const;

  // Forgets everything (the name tables stay).
  void Clear();
  // Callers held (named by a remembered finished call or contact): for tests.
  size_t caller_count() const { return caller_index_.size(); }
  // Caller slots, held or free (a slot let go is used again): for tests.
  size_t caller_slots() const { return callers_.size(); }
  // Contact lists held by callers: for tests.
  size_t contact_lists() const { return contact_lists_.size() - free_contact_lists_.size(); }

 private:
  // Call ids up to 24 bytes without an allocation (the gateway's are about 20).
  using ShortText = absl::InlinedVector<char, 24>;
  static ShortText Text(std::string_view s) { return ShortText(s.begin(), s.end()); }
  static std::string_view View(const ShortText& t) { return {t.data(), t.size()}; }

  // A caller key, packed: 64 lowercase hex digits as their 32 bytes; a key of up to 32 bytes as
  // itself; a longer key in long_keys_. Unused bytes are zero, so == compares keys.
  struct PackedKey {
    static constexpr uint8_t kHex = 0xFE;
    static constexpr uint8_t kLong = 0xFF;
    std::array<char, 32> bytes{};
    uint8_t form = 0;  // 0-32: that many bytes of the key itself; kHex; kLong.
    bool operator==(const PackedKey&) const = default;
  };
  static PackedKey Pack(std::string_view key);
  std::string Unpack(uint32_t caller) const;

  struct StoredContact {
    Timestamp answered_at{};
    ShortText call_id;
    uint32_t counsellor = 0;  // In counsellors_.
    uint32_t category = 0;    // In categories_ (0 is "", none yet).
  };
  // A caller's contacts, oldest first (in the order (answered_at, call id), or as restored).
  using ContactList = absl::InlinedVector<StoredContact, 1>;
  static constexpr uint32_t kNoContacts = ~uint32_t{0};
  struct Caller {
    PackedKey key;
    // Remembered finished calls and live calls (Hold) that name this caller. One count for
    // both, so a caller stays 44 bytes (issue 11: at most 200 bytes a finished call).
    uint32_t names = 0;
    // The caller's list in contact_lists_, or kNoContacts: many callers of finished calls were
    // never answered (they hung up waiting, or the call timed out), and pay 4 bytes for it
    // instead of an empty inline list's 56. An answered caller pays 44 and their list's 56.
    uint32_t contacts = kNoContacts;
  };
  static_assert(sizeof(Caller) == 44);

  // The caller index: numbers into callers_, hashed and compared by their keys; looked up by a
  // Probe (a key not yet stored).
  struct Probe {
    PackedKey packed;
    std::string_view key;
  };
  struct CallerHash {
    using is_transparent = void;
    const CallMemory* memory;
    size_t operator()(uint32_t caller) const;
    size_t operator()(const Probe& probe) const;
  };
  struct CallerEq {
    using is_transparent = void;
    const CallMemory* memory;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const Probe& b) const;
    bool operator()(const Probe& a, uint32_t b) const { return (*this)(b, a); }
  };
  static size_t HashKey(const PackedKey& packed, std::string_view long_key);

  std::optional<uint32_t> FindCaller(std::string_view key) const;
  // The caller's number, adding them if new.
  uint32_t AcquireCaller(std::string_view key);
  // Adds a finished call of `caller` (kNoCaller: withheld), counting it in their `names`.
  void AddFinishedOf(Timestamp at, std::string_view call_id, uint32_t caller);
  // Lets the caller go once nothing names them.
  void MaybeRelease(uint32_t caller);
  // The caller's contacts, or null if they have none.
  const ContactList* ContactsOfCaller(uint32_t caller) const;
  ContactList* ContactsOfCaller(uint32_t caller);
  // The caller's contacts, a list taken (empty) if they had none.
  ContactList& ContactListFor(uint32_t caller);
  // Gives the caller's list back once it is empty.
  void MaybeReleaseContacts(uint32_t caller);
  Contact ToContact(const StoredContact& stored) const;
  // Interns the contact's counsellor and category.
  StoredContact ToStored(const Contact& contact);

  // The gateway of a finished call whose gateway is not known.
  static constexpr uint32_t kNoGateway = (uint32_t{1} << 28) - 1;
  struct Finished {
    Timestamp at{};
    ShortText call_id;
    uint32_t caller = kNoCaller;
    // In the 4 bytes the record would otherwise pad: the gateway (in gateways_, or kNoGateway),
    // the routing::Outcome (1-6), and whether a callback was offered.
    uint32_t gateway : 28 = kNoGateway;
    uint32_t outcome : 3 = 0;
    uint32_t offer_callback : 1 = 0;
  };
  static_assert(sizeof(Finished) == 48);
  std::optional<FinishedFate> FateOfRecord(const Finished& f) const;
  static std::string_view FinishedId(const Finished& f) { return View(f.call_id); }
  // Slots; a free slot (on free_callers_) has no finished calls and no contacts.
  std::deque<Caller> callers_;
  std::vector<uint32_t> free_callers_;
  // Contact lists, each held by one caller; a free one (on free_contact_lists_) is empty and holds
  // no allocation.
  std::deque<ContactList> contact_lists_;
  std::vector<uint32_t> free_contact_lists_;
  absl::flat_hash_set<uint32_t, CallerHash, CallerEq> caller_index_;
  absl::flat_hash_map<uint32_t, std::string> long_keys_;
  // Pointers into the deque stay valid as it grows at the back and shrinks at the front.
  std::deque<Finished> finished_;
  PointerSet<Finished, &FinishedId> finished_index_;
  NameTable counsellors_;
  NameTable categories_;
  // The gateways finished calls name.
  CountedNames gateways_;
};

}  // namespace hotline::routing
