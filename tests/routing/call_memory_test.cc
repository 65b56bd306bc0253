// CallMemory: the engine's compact memory of finished calls and callers' contacts. What it is
// given comes back unchanged whatever the key's form, a caller is held once however many records
// name them, and let go when nothing does.
#include "routing/call_memory.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "routing/string_hash.h"

namespace hotline::routing {
namespace {

constexpr Timestamp kT0{Millis(1'767'225'600'000)};

Timestamp At(int64_t ms) { return kT0 + Millis(ms); }

std::string Hex(const std::string& bytes, bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

TEST_CASE("the string hash tells apart keys that differ in any one byte, and spreads them",
          "[routing][memory]") {
  // Every length up to 40 (the engine's call ids are about 20 bytes; a caller key packs to 32),
  // each key against its copies changed in one byte: every byte counts, the last of a length
  // that is no multiple of 8 or 16 as much as the first.
  std::set<uint64_t> seen;
  size_t keys = 0;
  for (size_t length = 0; length <= 40; ++length) {
    const std::string base(length, 'a');
    INFO("length " << length);
    CHECK(HashString(base) == HashString(std::string(base)));
    seen.insert(HashString(base));
    ++keys;
    for (size_t at = 0; at < length; ++at) {
      std::string changed = base;
      changed[at] = 'b';
      seen.insert(HashString(changed));
      ++keys;
    }
  }
  CHECK(seen.size() == keys);
  // Ids as a gateway numbers them: 100,000 in a row, differing only in their last digits. A
  // Swiss table takes its 7-bit tag from the hash's low bits and its slot from the rest: each
  // of the 128 tags and of the 128 values of the next 7 bits within a third of its share.
  std::vector<int> tags(128);
  std::vector<int> slots(128);
  seen.clear();
  constexpr int kIds = 100'000;
  for (int i = 0; i < kIds; ++i) {
    const uint64_t h = HashString("gw1-2026-" + std::to_string(1'000'000'000 + i));
    seen.insert(h);
    ++tags[h & 127];
    ++slots[(h >> 7) & 127];
  }
  CHECK(seen.size() == static_cast<size_t>(kIds));
  const auto [tag_min, tag_max] = std::minmax_element(tags.begin(), tags.end());
  const auto [slot_min, slot_max] = std::minmax_element(slots.begin(), slots.end());
  constexpr int kShare = kIds / 128;
  CHECK(*tag_min > kShare * 2 / 3);
  CHECK(*tag_max < kShare * 4 / 3);
  CHECK(*slot_min > kShare * 2 / 3);
  CHECK(*slot_max < kShare * 4 / 3);
}

TEST_CASE("a map keyed by hashed views rehashes from its slots, never reading the strings",
          "[routing][memory]") {
  // The strings the keys view, each on the heap (longer than a string's inline 15 bytes). After
  // the inserts their bytes are overwritten in place and the map made to rehash twice (growing,
  // then shrinking to fit); then the bytes are put back and every id must still be found.
  // A rehash that read the strings would have placed each entry by the hash of the overwritten
  // bytes, where a lookup of its id does not look (the engine's live calls: string_hash.h,
  // HashedView).
  constexpr int kIds = 5'000;
  std::vector<std::string> ids;
  for (int i = 0; i < kIds; ++i) {
    ids.push_back("gw1-2026-" + std::to_string(1'000'000'000 + i));
  }
  ViewMap<int> map;
  for (int i = 0; i < kIds; ++i) {
    REQUIRE(map.emplace(HashedView(ids[i]), i).second);
  }
  const std::vector<std::string> kept = ids;
  for (std::string& id : ids) {
    std::fill(id.begin(), id.end(), 'x');  // Same size, same place: the views still point here.
  }
  map.rehash(map.capacity() * 4);
  map.rehash(0);
  for (int i = 0; i < kIds; ++i) {
    ids[i] = kept[i];  // Fits the same buffer: assigning a string of the same length.
  }
  for (int i = 0; i < kIds; ++i) {
    INFO(kept[i]);
    const auto it = map.find(kept[i]);
    REQUIRE(it != map.end());
    CHECK(it->second == i);
    CHECK(map.contains(std::string_view(kept[i])));
  }
  CHECK_FALSE(map.contains("gw1-2026-0"));
  CHECK(map.size() == static_cast<size_t>(kIds));
}

TEST_CASE("caller keys of every form come back as they were given", "[routing][memory]") {
  const std::string raw32 = "0123456789abcdef0123456789ABCDEF";  // 32 bytes, not hex-packed.
  const std::vector<std::string> keys = {
      Hex(std::string(32, '\x5a')),        // The daemon's form: 64 lowercase hex digits.
      Hex(std::string(32, '\x5a'), true),  // The same digits in upper case: another key.
      Hex(raw32),                          // Hex digits whose bytes are raw32 ...
      raw32,                               // ... and raw32 itself: two callers.
      "caller-1",                          // Short.
      std::string("a\0b", 3),              // A NUL inside.
      std::string(33, 'k'),                // One past the inline size.
      std::string(63, 'f') + "g",          // 64 characters, not all hex.
      std::string(200, 'x'),               // Long.
  };
  CallMemory memory;
  for (size_t i = 0; i < keys.size(); ++i) {
    memory.AddFinished(At(0), "call-" + std::to_string(i), keys[i]);
    memory.AddContact(keys[i],
                      Contact{"call-" + std::to_string(i), "c" + std::to_string(i), At(0), ""});
  }
  CHECK(memory.caller_count() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO("key " << i);
    CHECK(memory.CallerOfFinished("call-" + std::to_string(i)) == keys[i]);
    const std::optional<Contact> last = memory.LastContact(keys[i]);
    REQUIRE(last.has_value());
    CHECK(last->call_id == "call-" + std::to_string(i));
    CHECK(last->counsellor_id == "c" + std::to_string(i));
  }
  std::vector<std::string> listed;
  for (const auto& [key, contact] : memory.AllContacts()) {
    listed.push_back(key);
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  CHECK(listed == sorted);
  // A withheld number is nobody: no caller is held for it.
  memory.AddFinished(At(1), "withheld", "");
  CHECK(memory.CallerOfFinished("withheld") == std::string());
  CHECK(memory.caller_count() == keys.size());
  CHECK_FALSE(memory.CallerOfFinished("never").has_value());
  CHECK_FALSE(memory.LastContact("never").has_value());
}

TEST_CASE(
    "64 hex digits are packed by value, and one other character anywhere keeps the key as it came",
    "[routing][memory]") {
  // Every byte value, as the daemon's keys spell them: each digit in each of the 64 places.
  std::vector<std::string> keys;
  for (int first = 0; first < 256; first += 32) {
    std::string bytes;
    for (int i = 0; i < 32; ++i) {
      bytes.push_back(static_cast<char>(first + i));
    }
    keys.push_back(Hex(bytes));
    std::reverse(bytes.begin(), bytes.end());
    keys.push_back(Hex(bytes));
  }
  // One character that is not a lowercase hex digit, in each place: the neighbours of the
  // digits' ranges, upper case, bytes of 128 and more, and NUL.
  const std::string valid = Hex("0123456789abcdefghijklmnopqrstuv");
  for (size_t place = 0; place < valid.size(); ++place) {
    for (char other : {'/', ':', '`', 'g', 'A', 'F', ' ', '\0', '\x80', '\xe1', '\xff'}) {
      std::string key = valid;
      key[place] = other;
      keys.push_back(key);
    }
  }
  CallMemory memory;
  memory.AddFinished(At(0), "valid", valid);
  for (size_t i = 0; i < keys.size(); ++i) {
    memory.AddFinished(At(0), "call-" + std::to_string(i), keys[i]);
  }
  CHECK(memory.CallerOfFinished("valid") == valid);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO("key " << i << ": " << keys[i]);
    CHECK(memory.CallerOfFinished("call-" + std::to_string(i)) == keys[i]);
  }
  // Each key a caller of its own: none packs to another's form.
  CHECK(memory.caller_count() == keys.size() + 1);
}

TEST_CASE("a caller is held once while anything names them, then let go", "[routing][memory]") {
  const std::string key = Hex(std::string(32, '\x01'));
  CallMemory memory;
  memory.AddFinished(At(0), "a", key);
  memory.AddContact(key, Contact{"a", "c1", At(0), ""});
  memory.AddFinished(At(10), "b", key);
  memory.AddContact(key, Contact{"b", "c2", At(5), ""});
  CHECK(memory.caller_count() == 1);
  CHECK(memory.finished_count() == 2);

  memory.ForgetFinishedThrough(At(10));
  CHECK(memory.finished_count() == 0);
  CHECK_FALSE(memory.IsFinished("a"));
  CHECK(memory.caller_count() == 1);  // The contacts still name them.
  memory.ForgetContactsThrough(At(0));
  REQUIRE(memory.ContactsOf(key).size() == 1);
  CHECK(memory.ContactsOf(key)[0].call_id == "b");
  memory.ForgetContactsThrough(At(5));
  CHECK(memory.caller_count() == 0);
  CHECK(memory.ContactsOf(key).empty());

  // A slot let go is used again, for another caller only.
  const std::string other = "caller-2";
  memory.AddFinished(At(20), "c", other);
  CHECK(memory.caller_count() == 1);
  CHECK(memory.caller_slots() == 1);
  CHECK(memory.CallerOfFinished("c") == other);
  CHECK_FALSE(memory.LastContact(key).has_value());
}

TEST_CASE("a live call's hold keeps its caller until let go, and finds them by number",
          "[routing][memory]") {
  const std::string key = Hex(std::string(32, '\x02'));
  CallMemory memory;
  CHECK(memory.Hold("") == CallMemory::kNoCaller);  // A withheld number holds nothing.
  memory.LetGo(CallMemory::kNoCaller);
  CHECK(memory.CheckNames({}).ok());

  CHECK(memory.HoldKnown(key) == CallMemory::kNoCaller);  // Not known: nothing taken.
  CHECK(memory.caller_count() == 0);
  const uint32_t caller = memory.Hold(key);
  REQUIRE(caller != CallMemory::kNoCaller);
  CHECK(memory.HoldKnown(key) == caller);  // A second call of the same caller: the same number.
  CHECK(memory.CheckNames({caller, caller}).ok());
  CHECK_FALSE(memory.CheckNames({caller}).ok());  // One hold is not counted.
  CHECK(memory.caller_count() == 1);
  CHECK(memory.KeyOf(caller) == key);
  CHECK_FALSE(memory.LastContact(caller).has_value());

  // By number and by key alike.
  memory.AddContact(caller, Contact{"a", "c1", At(0), ""});
  memory.NoteCategory(caller, "a", "bullying");
  REQUIRE(memory.LastContact(key).has_value());
  CHECK(memory.LastContact(key)->category == "bullying");
  CHECK(memory.LastContact(caller)->call_id == "a");
  memory.AddFinished(At(0), "a", caller, "gw-1", Outcome::kCompleted, false);
  CHECK(memory.CallerOfFinished("a") == key);
  CHECK(memory.CheckNames({caller, caller}).ok());  // The finished call names them too.

  // Forgetting what names them leaves them held.
  memory.ForgetFinishedThrough(At(0));
  memory.ForgetContactsThrough(At(0));
  CHECK(memory.caller_count() == 1);
  CHECK(memory.KeyOf(caller) == key);
  memory.LetGo(caller);
  CHECK(memory.caller_count() == 1);  // The other call still holds them.
  memory.LetGo(caller);
  CHECK(memory.CheckNames({}).ok());
  CHECK(memory.caller_count() == 0);  // Nothing names them now.
  CHECK(memory.caller_slots() == 1);

  // A snapshot from before withheld numbers were left out of contacts may hold one under the
  // empty key: a withheld number still holds nothing.
  memory.RestoreContact("", Contact{"w", "c1", At(0), ""});
  CHECK(memory.HoldKnown("") == CallMemory::kNoCaller);
  CHECK(memory.CheckNames({}).ok());
}

TEST_CASE("only answered callers hold a contact list, given back once its contacts go",
          "[routing][memory]") {
  CallMemory memory;
  // Callers of calls never answered: no list.
  for (int i = 0; i < 50; ++i) {
    memory.AddFinished(At(i), "w" + std::to_string(i), "waited-" + std::to_string(i));
  }
  CHECK(memory.caller_count() == 50);
  CHECK(memory.contact_lists() == 0);
  CHECK(memory.ContactsOf("waited-3").empty());
  CHECK_FALSE(memory.LastContact("waited-3").has_value());
  memory.NoteCategory("waited-3", "w3", "other");  // Nothing to note: no list is taken.
  CHECK(memory.contact_lists() == 0);

  // Answered once: a list, kept while it has a contact, through its caller's finished calls.
  memory.AddContact("waited-3", Contact{"w3", "c1", At(3), ""});
  memory.AddContact("answered", Contact{"a1", "c2", At(60), ""});
  memory.AddContact("answered", Contact{"a2", "c2", At(61), ""});
  CHECK(memory.contact_lists() == 2);
  memory.ForgetFinishedThrough(At(100));
  CHECK(memory.caller_count() == 2);  // Their contacts still name them.
  REQUIRE(memory.LastContact("waited-3").has_value());
  CHECK(memory.LastContact("waited-3")->call_id == "w3");

  // The contacts go: so do the lists and the callers.
  memory.ForgetContactsThrough(At(60));
  CHECK(memory.contact_lists() == 1);
  CHECK(memory.ContactsOf("waited-3").empty());
  REQUIRE(memory.ContactsOf("answered").size() == 1);
  CHECK(memory.ContactsOf("answered")[0].call_id == "a2");
  memory.ForgetContactsThrough(At(61));
  CHECK(memory.contact_lists() == 0);
  CHECK(memory.caller_count() == 0);

  // Answered, then named only by a finished call once the contact is forgotten: no list.
  memory.AddContact("again", Contact{"g1", "c1", At(62), ""});
  memory.AddFinished(At(200), "g1", "again");
  memory.ForgetContactsThrough(At(62));
  CHECK(memory.contact_lists() == 0);
  CHECK(memory.caller_count() == 1);
  CHECK(memory.CallerOfFinished("g1") == "again");
  memory.ForgetFinishedThrough(At(200));
  CHECK(memory.caller_count() == 0);

  // A list given back is used again, empty, for another caller only.
  memory.AddContact("new", Contact{"n1", "c3", At(70), ""});
  CHECK(memory.contact_lists() == 1);
  REQUIRE(memory.ContactsOf("new").size() == 1);
  CHECK(memory.ContactsOf("new")[0].call_id == "n1");
  CHECK(memory.AllContacts().size() == 1);
  memory.Clear();
  CHECK(memory.contact_lists() == 0);
}

TEST_CASE("a caller's contacts keep their order, their limit and their categories",
          "[routing][memory]") {
  CallMemory memory;
  const std::string key = "caller";
  // Out of order, two in one millisecond: kept by (answered_at, call id).
  for (int i = kMaxContactsPerCaller + 1; i >= 0; --i) {
    memory.AddContact(key, Contact{"id-" + std::to_string(100 + i), "c", At(i / 2), ""});
  }
  std::vector<Contact> contacts = memory.ContactsOf(key);
  REQUIRE(contacts.size() == static_cast<size_t>(kMaxContactsPerCaller));
  // The two oldest (ids 100 and 101, at +0 ms) were forgotten.
  CHECK(contacts.front().call_id == "id-102");
  CHECK(contacts.back().call_id == "id-" + std::to_string(100 + kMaxContactsPerCaller + 1));
  for (size_t i = 1; i < contacts.size(); ++i) {
    CHECK(std::tie(contacts[i - 1].answered_at, contacts[i - 1].call_id) <
          std::tie(contacts[i].answered_at, contacts[i].call_id));
  }
  memory.NoteCategory(key, "id-105", "abuse_report");
  memory.NoteCategory(key, "id-999", "other");   // Not remembered: nothing changes.
  memory.NoteCategory("nobody", "id-105", "x");  // Nor for another caller.
  for (const Contact& c : memory.ContactsOf(key)) {
    CHECK(c.category == (c.call_id == "id-105" ? "abuse_report" : ""));
  }
}

TEST_CASE("long call ids and a repeated id are remembered like short ones", "[routing][memory]") {
  CallMemory memory;
  const std::string long_id(128, 'i');
  memory.AddFinished(At(0), long_id, "k1");
  memory.AddFinished(At(1), "dup", "k2");
  memory.AddFinished(At(2), "dup", "k3");  // Only in a hand-made state: the first is found.
  CHECK(memory.IsFinished(long_id));
  CHECK(memory.CallerOfFinished("dup") == "k2");
  std::vector<std::string> seen;
  memory.ForEachFinished([&](Timestamp, std::string_view id, std::string_view caller,
                             const std::optional<FinishedFate>& fate) {
    CHECK_FALSE(fate.has_value());  // Added without a gateway.
    seen.push_back(std::string(id) + "/" + std::string(caller));
  });
  CHECK(seen == std::vector<std::string>{long_id + "/k1", "dup/k2", "dup/k3"});
  memory.Clear();
  CHECK(memory.finished_count() == 0);
  CHECK(memory.caller_count() == 0);
  CHECK_FALSE(memory.IsFinished(long_id));
}

TEST_CASE("how a finished call ended is found by its id, its gateway named once",
          "[routing][memory]") {
  CallMemory memory;
  const std::string long_id(100, 'c');
  const std::string long_gateway(64, 'g');
  memory.AddFinished(At(10), "c-1", "k1", "gw-1", Outcome::kAbandoned, false);
  memory.AddFinished(At(11), long_id, "", long_gateway, Outcome::kCompleted, false);
  memory.AddFinished(At(12), "c-3", "k1", "gw-1", Outcome::kTimedOut, true);
  memory.AddFinished(At(13), "old", "k2");  // An older daemon's: how it ended is not known.
  CHECK(memory.FateOf("c-1") == FinishedFate{"c-1", At(10), "gw-1", Outcome::kAbandoned, false});
  CHECK(memory.FateOf(long_id) ==
        FinishedFate{long_id, At(11), long_gateway, Outcome::kCompleted, false});
  CHECK(memory.FateOf("c-3") == FinishedFate{"c-3", At(12), "gw-1", Outcome::kTimedOut, true});
  CHECK_FALSE(memory.FateOf("old").has_value());
  CHECK(memory.IsFinished("old"));
  CHECK_FALSE(memory.FateOf("c-2").has_value());
  CHECK_FALSE(memory.FateOf(long_id.substr(1)).has_value());
  CHECK(memory.gateway_ids() == 2);
  // A gateway's id goes with the last finished call that names it.
  memory.ForgetFinishedThrough(At(10));
  CHECK(memory.gateway_ids() == 2);
  memory.ForgetFinishedThrough(At(11));
  CHECK(memory.gateway_ids() == 1);
  CHECK_FALSE(memory.FateOf(long_id).has_value());
  CHECK(memory.FateOf("c-3").has_value());
  memory.ForgetFinishedThrough(At(13));
  CHECK(memory.gateway_ids() == 0);
  CHECK(memory.finished_count() == 0);
  // A gateway inventing a new id for every call holds no more names than calls remembered.
  for (int i = 0; i < 100; ++i) {
    memory.AddFinished(At(100 + i), "x-" + std::to_string(i), "", "invented-" + std::to_string(i),
                       Outcome::kCompleted, false);
    memory.ForgetFinishedThrough(At(100 + i - 10));
  }
  CHECK(memory.gateway_ids() == 10);
  memory.Clear();
  CHECK(memory.gateway_ids() == 0);
}

TEST_CASE("finished calls hold their caller after the contacts are forgotten",
          "[routing][memory]") {
  CallMemory memory;
  const std::string key(40, 'L');  // Long: kept in the side table.
  memory.AddContact(key, Contact{"a", "c1", At(0), ""});
  memory.AddFinished(At(10), "a", key);
  memory.ForgetContactsThrough(At(5));
  CHECK(memory.ContactsOf(key).empty());
  CHECK(memory.caller_count() == 1);
  CHECK(memory.CallerOfFinished("a") == key);
  memory.ForgetFinishedThrough(At(10));
  CHECK(memory.caller_count() == 0);
  // The long key's slot, used again by another long key: the old key does not come back.
  const std::string other(50, 'M');
  memory.AddFinished(At(20), "b", other);
  CHECK(memory.caller_slots() == 1);
  CHECK(memory.CallerOfFinished("b") == other);
  memory.AddContact(other, Contact{"b", "c2", At(20), ""});
  CHECK(memory.ContactsOf(other).size() == 1);
  CHECK(memory.ContactsOf(key).empty());
  // Cleared, then filled again: no stale slot is handed out.
  memory.Clear();
  CHECK(memory.caller_slots() == 0);
  memory.AddFinished(At(30), "c", "k1");
  memory.AddFinished(At(30), "d", "k2");
  CHECK(memory.CallerOfFinished("c") == "k1");
  CHECK(memory.CallerOfFinished("d") == "k2");
  CHECK(memory.caller_count() == 2);
}

TEST_CASE("restored contacts keep the order and number they were saved in", "[routing][memory]") {
  CallMemory memory;
  memory.RestoreContact("k", Contact{"b", "c1", At(0), ""});
  memory.RestoreContact("k", Contact{"a", "c2", At(0), "other"});
  const std::vector<Contact> contacts = memory.ContactsOf("k");
  REQUIRE(contacts.size() == 2);
  CHECK(contacts[0].call_id == "b");
  CHECK(contacts[1] == Contact{"a", "c2", At(0), "other"});
  CHECK(memory.LastContact("k")->counsellor_id == "c2");
}

TEST_CASE("many callers coming and going agree with a plain model", "[routing][memory]") {
  // A model with plain strings and maps: the callers named by the remembered finished calls,
  // and each caller's contacts. Keys of every form, reused often, with forgetting as time goes.
  std::mt19937 rng(7);
  const auto random_key = [&] {
    const int n = static_cast<int>(rng() % 60);
    switch (rng() % 4) {
      case 0: {
        std::string raw(32, '\0');
        raw[0] = static_cast<char>(n);  // Few distinct callers, so they come back.
        return Hex(raw);
      }
      case 1:
        return "short-" + std::to_string(n);
      case 2:
        return std::string(33 + n % 5, 'x') + std::to_string(n);
      default:
        return std::string();  // Withheld.
    }
  };
  // Gateways: a few named often, some with long ids, and one inventing an id per call; some
  // calls' gateways not known (an older daemon's state).
  const auto random_gateway = [&](int i) -> std::optional<std::string> {
    switch (rng() % 5) {
      case 0:
        return std::nullopt;
      case 1:
        return std::string(40 + rng() % 3, 'g');
      case 2:
        return "invented-" + std::to_string(i);
      default:
        return "gw-" + std::to_string(rng() % 3);
    }
  };
  CallMemory memory;
  std::vector<std::tuple<int64_t, std::string, std::string>> finished;  // at, id, caller
  std::map<std::string, std::optional<FinishedFate>> fates;
  std::map<std::string, std::vector<Contact>> contacts;
  int64_t now = 0;
  for (int i = 0; i < 3000; ++i) {
    now += 1 + static_cast<int64_t>(rng() % 3);
    const std::string id = "id-" + std::to_string(i);
    const std::string key = random_key();
    if (const std::optional<std::string> gateway = random_gateway(i)) {
      const auto outcome = static_cast<Outcome>(1 + rng() % 6);
      const bool offer = outcome == Outcome::kTimedOut;
      memory.AddFinished(At(now), id, key, *gateway, outcome, offer);
      fates[id] = FinishedFate{id, At(now), *gateway, outcome, offer};
    } else {
      memory.AddFinished(At(now), id, key);
      fates[id] = std::nullopt;
    }
    finished.emplace_back(now, id, key);
    if (!key.empty() && rng() % 2 == 0) {
      const Contact c{id, "c" + std::to_string(rng() % 7), At(now), ""};
      memory.AddContact(key, c);
      auto& list = contacts[key];
      list.push_back(c);
      if (list.size() > static_cast<size_t>(kMaxContactsPerCaller)) {
        list.erase(list.begin());
      }
    }
    if (i % 97 == 0) {
      const int64_t through = now - 400;
      memory.ForgetFinishedThrough(At(through));
      std::erase_if(finished, [&](const auto& f) { return std::get<0>(f) <= through; });
    }
    if (i % 211 == 0) {
      const int64_t through = now - 900;
      memory.ForgetContactsThrough(At(through));
      for (auto it = contacts.begin(); it != contacts.end();) {
        std::erase_if(it->second, [&](const Contact& c) { return c.answered_at <= At(through); });
        it = it->second.empty() ? contacts.erase(it) : std::next(it);
      }
    }
  }
  std::map<std::string, int> named;
  std::map<std::string, int> gateways;
  for (const auto& [at, id, caller] : finished) {
    INFO(id);
    REQUIRE(memory.CallerOfFinished(id) == caller);
    REQUIRE(memory.FateOf(id) == fates[id]);
    if (!caller.empty()) {
      named[caller] = 1;
    }
    if (fates[id]) {
      gateways[fates[id]->gateway_id] = 1;
    }
  }
  CHECK(memory.gateway_ids() == gateways.size());
  CHECK_FALSE(memory.FateOf("id-0").has_value());  // Forgotten.
  for (const auto& [key, list] : contacts) {
    INFO(key);
    REQUIRE(memory.ContactsOf(key) == list);
    named[key] = 1;
  }
  CHECK(memory.caller_count() == named.size());
  CHECK(memory.finished_count() == finished.size());
  CHECK(memory.contact_lists() == contacts.size());  // One per caller with contacts, no more.
  std::vector<std::pair<std::string, Contact>> all;
  for (const auto& [key, list] : contacts) {
    for (const Contact& c : list) {
      all.emplace_back(key, c);
    }
  }
  CHECK(memory.AllContacts() == all);
}

}  // namespace
}  // namespace hotline::routing
