// SQL that Store prepares and whose query plans a test checks (tests/storage/store_test.cc,
// "a late disposition finds its call's row by the call id"): the test reads the same text the
// Store runs, so a plan that would read a growing share of the history fails there.
#pragma once

namespace hotline::storage::sql {

// A late disposition joins its call's row: the newest row of that call, taken by that
// counsellor, without a disposition yet. Found through calls_by_call_id: the unary `+` keeps
// SQLite off the counsellor's index, which it would otherwise pick and then read every call the
// counsellor ever took, on the writer thread, to find one.
inline constexpr const char* kLateDisposition = R"sql(
UPDATE calls SET category = :category, action = :action, flags = :flags, heavy = :heavy,
                 note = :note, late_disposition_at = :at
WHERE id = (SELECT MAX(id) FROM calls
            WHERE call_id = :call_id AND +counsellor_id = :counsellor_id AND category IS NULL)
)sql";

}  // namespace hotline::storage::sql
