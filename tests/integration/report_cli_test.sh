#!/usr/bin/env bash
# `hotlinectl report` and `hotlinectl dispositions` against a real hotlined: a day of calls and
# presence written into its database (while it is stopped), then the table, the CSV and the CHI
# export checked against figures computed by hand, and the refusals (no token, the admin token,
# a reversed period, a date that does not exist).
#
# Usage: report_cli_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
daemon_pid=""

cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# fail, wait_for, start_hotlined, stop_hotlined.
. "$(dirname "$0")/lib.sh"

# lan (home province 01, Hà Nội, the north) exists in the engine; then the daemon stops so the
# test can write rows without a second writer beside it.
start_hotlined first
HOTLINE_ADMIN_TOKEN=dev-admin-token "$bin/hotlinectl" --server "$grpc" counsellor add lan \
  --name "Lan" --home-province 01 --skill counselling:4 --endpoint sip:lan@pbx \
  > "$dir/add.out" || fail "hotlinectl counsellor add"
stop_hotlined

# 1 January 2026 in Vietnam (UTC+7). t9 is 09:00 there (02:00 UTC), t10 10:00.
#   c1 from 01: waited 12 s, talked 60 s, wrap-up 40 s (handling 100 s), lan.
#   c2 from 01: hung up after 30 s.
#   c3 from 38 (Thanh Hóa, the central centre): an emergency, waited 11 s (over its 10 s),
#      talked 30 s, wrap-up 10 s (handling 40 s), lan.
#   c4: the next day, outside every period asked for.
# lan: signed in 08:00-11:00 (10,800 s staffed), on a call or in wrap-up 60 + 40 + 30 + 10 s.
t9=1767232800000
t10=$((t9 + 3600000))
sqlite3 "$dir/hotline.db" <<SQL || fail "writing the day's rows"
INSERT INTO calls (call_id, gateway_id, caller_key, caller_masked, province, language, topic,
  priority, gender_preference, arrived_at, accepted_at, answered_at, ended_at, wrap_up_done_at,
  outcome, counsellor_id, wait_ms, talk_ms, offers, final_step, category, action, flags, heavy,
  note)
VALUES
  ('c1', 'gw-1', 'key-c1', '********01', '01', 'vi', 'counselling', 'normal', 'unspecified',
   $t9, $((t9 + 12000)), $((t9 + 12000)), $((t9 + 72000)), $((t9 + 112000)), 'completed', 'lan',
   12000, 60000, 1, 0, 'family_relationships', 'counselled', '', 0, 'a private note'),
  ('c3', 'gw-1', 'key-c3', '********03', '38', 'vi', 'abuse_report', 'emergency', 'unspecified',
   $t10, $((t10 + 11000)), $((t10 + 11000)), $((t10 + 41000)), $((t10 + 51000)), 'completed',
   'lan', 11000, 30000, 1, 0, 'sexual_abuse', 'referred_child_protection', 'repeat', 1, ''),
  ('c4', 'gw-1', 'key-c4', '********04', '01', 'vi', 'counselling', 'normal', 'unspecified',
   $((t9 + 86400000)), $((t9 + 86401000)), $((t9 + 86401000)), $((t9 + 86460000)),
   $((t9 + 86470000)), 'completed', 'lan', 1000, 59000, 1, 0, 'education', 'counselled', '', 0,
   '');
INSERT INTO calls (call_id, gateway_id, caller_key, caller_masked, province, language, topic,
  priority, gender_preference, arrived_at, ended_at, outcome, wait_ms, offers, final_step)
VALUES ('c2', 'gw-1', 'key-c2', '********02', '01', 'vi', 'counselling', 'normal', 'unspecified',
   $((t9 + 600000)), $((t9 + 630000)), 'abandoned', 30000, 0, 2);
INSERT INTO presence (counsellor_id, state, at) VALUES
  ('lan', 'available', $((t9 - 3600000))),
  ('lan', 'on_call', $((t9 + 12000))), ('lan', 'wrap_up', $((t9 + 72000))),
  ('lan', 'available', $((t9 + 112000))), ('lan', 'reserved', $t10),
  ('lan', 'on_call', $((t10 + 11000))), ('lan', 'wrap_up', $((t10 + 41000))),
  ('lan', 'available', $((t10 + 51000))), ('lan', 'offline', $((t10 + 3600000)));
SQL
start_hotlined second
export HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token
ctl() { "$bin/hotlinectl" --server "$grpc" "$@"; }

# By centre, as CSV. north: c1 and c2, lan's occupancy 140 / 10800 s; central: c3 (not in
# target); total: service level and abandonment 1 / 3, ASA (12 + 11) / 2 s, AHT (100 + 40) / 2 s.
ctl report --from 2026-01-01 --to 2026-01-02 --by centre --csv > "$dir/centre.csv" \
  || fail "hotlinectl report --by centre --csv"
cat > "$dir/centre.want" <<'CSV'
centre,offered,answered,answered_in_target,abandoned,short_abandoned,other_unanswered,service_level,abandonment_rate,average_speed_of_answer_ms,handled,average_handling_time_ms,occupancy,answered_in_own_province,answered_in_own_centre
central,1,1,0,0,0,0,0.0000,0.0000,11000,1,40000,,0,0
north,2,1,1,1,0,0,0.5000,0.5000,12000,1,100000,0.0130,1,1
(total),3,2,1,1,0,0,0.3333,0.3333,11500,2,70000,0.0130,1,1
CSV
diff "$dir/centre.want" "$dir/centre.csv" > "$dir/centre.diff.out" || fail "report by centre"

# The same period in UTC gives the same rows.
ctl report --from 2025-12-31T17:00Z --to "2026-01-01 17:00+00:00" --by centre --csv \
  > "$dir/centre-utc.csv" || fail "hotlinectl report with zones"
diff "$dir/centre.want" "$dir/centre-utc.csv" > "$dir/centre-utc.diff.out" \
  || fail "report by centre, times in UTC"

# By hour of the day (Vietnam time): 08 has only lan's idle hour; 09 c1 and c2; 10 c3.
ctl report --from 2026-01-01 --to 2026-01-02 --by hour --csv > "$dir/hour.csv" \
  || fail "hotlinectl report --by hour --csv"
cat > "$dir/hour.want" <<'CSV'
hour,offered,answered,answered_in_target,abandoned,short_abandoned,other_unanswered,service_level,abandonment_rate,average_speed_of_answer_ms,handled,average_handling_time_ms,occupancy,answered_in_own_province,answered_in_own_centre
08,0,0,0,0,0,0,,,0,0,0,0.0000,0,0
09,2,1,1,1,0,0,0.5000,0.5000,12000,1,100000,0.0278,1,1
10,1,1,0,0,0,0,0.0000,0.0000,11000,1,40000,0.0111,0,0
(total),3,2,1,1,0,0,0.3333,0.3333,11500,2,70000,0.0130,1,1
CSV
diff "$dir/hour.want" "$dir/hour.csv" > "$dir/hour.diff.out" || fail "report by hour"

# The table: a header, one line per group and the total, every line as wide as the header.
ctl report --from 2026-01-01 --to 2026-01-02 --by centre > "$dir/table.out" \
  || fail "hotlinectl report (table)"
[ "$(wc -l < "$dir/table.out")" -eq 4 ] || fail "the table has not 4 lines"
head -1 "$dir/table.out" | grep -Eq '^CENTRE +OFFERED +ANSWERED +IN TARGET' \
  || fail "the table's header"
[ "$(awk '{ print length($0) }' "$dir/table.out" | sort -u | wc -l)" -eq 1 ] \
  || fail "the table's lines are not aligned"
grep -Eq '^north +2 +1 +1 +1 +0 +0 +50\.0% +50\.0% +12\.0 +1 +100\.0 +1\.3% +1 +1$' \
  "$dir/table.out" || fail "the table's north row"
grep -Eq '^central .* +- +0 +0$' "$dir/table.out" || fail "absent occupancy shows as '-'"
grep -Eq '^\(total\) +3 +2 +1 +1 +0 +0 +33\.3% +33\.3% +11\.5 +2 +70\.0 +1\.3% +1 +1$' \
  "$dir/table.out" || fail "the table's total row"

# The CHI export: categories and actions by their framework labels, counts only.
ctl dispositions --from 2026-01-01 --to 2026-01-02 > "$dir/dispositions.csv" \
  || fail "hotlinectl dispositions"
cat > "$dir/dispositions.want" <<'CSV'
category,sub_category,action,count
Family relationships,Not specified,Counselling,1
Violence,Sexual violence,Referral: child protection services,1
CSV
diff "$dir/dispositions.want" "$dir/dispositions.csv" > "$dir/dispositions.diff.out" \
  || fail "the disposition export"
# From 09:30 only c3's wrap-up (10:00:51) ends in the period.
ctl dispositions --from 2026-01-01T09:30 --to 2026-01-01T11:00 > "$dir/later.csv" \
  || fail "hotlinectl dispositions from 09:30"
[ "$(tail -n +2 "$dir/later.csv")" = "Violence,Sexual violence,Referral: child protection services,1" ] \
  || fail "the export from 09:30"
if grep -q -e "private note" -e "key-c" -e "c1" "$dir"/*.csv; then
  fail "personal data or ids in an export"
fi

# Refusals: no token, the admin token (the hint names the one wanted), a reversed period, a day
# that does not exist.
if HOTLINE_SUPERVISOR_TOKEN= ctl report --from 2026-01-01 --to 2026-01-02 --by hour \
  > "$dir/none.out" 2>&1; then fail "a report without a token"; fi
grep -q "HOTLINE_SUPERVISOR_TOKEN" "$dir/none.out" || fail "no token: the message"
if HOTLINE_SUPERVISOR_TOKEN=dev-admin-token ctl dispositions --from 2026-01-01 \
  --to 2026-01-02 > "$dir/admin.out" 2>&1; then fail "an export with the admin token"; fi
grep -q "^error: UNAUTHENTICATED" "$dir/admin.out" || fail "admin token: the error"
grep -q "hint: reports need the supervisor token" "$dir/admin.out" || fail "admin token: the hint"
# Regression: it also said "this needs the administrator token", the opposite of its hint.
grep -q "administrator token\|HOTLINE_ADMIN_TOKEN" "$dir/admin.out" \
  && fail "admin token: the refusal also asked for the admin token: $(cat "$dir/admin.out")"
if ctl report --from 2026-01-02 --to 2026-01-01 --by centre > "$dir/reversed.out" 2>&1; then
  fail "a reversed period"
fi
grep -q "^error: INVALID_ARGUMENT: to: must be after from" "$dir/reversed.out" \
  || fail "a reversed period: the error"
if ctl report --from 2026-02-30 --to 2026-03-01 --by centre > "$dir/day.out" 2>&1; then
  fail "a day that does not exist"
fi
grep -q "no such day" "$dir/day.out" || fail "a day that does not exist: the message"

stop_hotlined
echo "PASS: hotlinectl report and dispositions against a real daemon"
