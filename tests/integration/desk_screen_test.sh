#!/usr/bin/env bash
# The full-screen hotline-desk on an 80x24 terminal (a detached tmux session, a private server),
# driven by keys and read back with capture-pane, against real processes: hotlined and a gateway
# (hotline-sim). The counsellor signs in (her name shows), goes available with A; a call from
# Thanh Hóa rings: the offer box shows the province and a countdown; Enter accepts; the talk
# time runs; the call ends and the wrap-up form opens; a category and an action are picked from
# the lists; S sends it, the calls row holds them, and the shift's figures count the call. The
# same caller again: the offer shows their history with her; they hang up while it rings. A window smaller than 80x24 is told so;
# when hotlined restarts the desk says it is reconnecting and comes back by itself. Q, Y quits.
#
# With `late`, hotlined's wrap-up lasts 2 s: the screen says the disposition will be late; a new
# call rings over the form (its caller hangs up) and the form keeps what was picked; it is sent,
# the screen says it was recorded late, the row's late_disposition_at is set, and the shift's
# figures count one late disposition.
#
# Usage: desk_screen_test.sh BIN_DIR SOURCE_DIR [late]
set -euo pipefail
bin=$1
src=$2
late=${3:-}
dir=$(mktemp -d)
daemon_pid=""
# The gateways, killed on the way out.
others=()
# A tmux server of this test's own, on a socket in $dir (so that it goes with it), with no
# configuration file; it is killed on the way out.
t() { tmux -S "$dir/tmux.sock" -f /dev/null "$@"; }

# fail, wait_for, wait_until, start_hotlined, stop_hotlined, add_counsellor, kill_started.
. "$(dirname "$0")/lib.sh"
cleanup() {
  t kill-server 2>/dev/null || true
  kill_started
}
trap cleanup EXIT

export LANG=C.UTF-8 HOTLINE_GATEWAY_TOKEN=dev-gateway-token
command -v tmux > /dev/null || fail "tmux is not installed: deploy/setup installs it"

# The screen as text in $dir/screen.out (shown when the test fails).
capture() { t capture-pane -p -t desk > "$dir/screen.out"; }
# Waits (up to 20 s) until the screen shows the extended regular expression given.
screen_shows() { capture && grep -Eq -- "$1" "$dir/screen.out"; }
wait_screen() { wait_until screen_shows "$1"; }

if [ "$late" = late ]; then
  sed 's/^wrap_up_ms = .*/wrap_up_ms = 2000/' "$src/deploy/hotline.toml" > "$dir/hotline.toml"
  grep -q '^wrap_up_ms = 2000$' "$dir/hotline.toml" || fail "no wrap_up_ms in the shipped config"
  hotline_config=$dir/hotline.toml
fi
start_hotlined daemon
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add lan"
printf '%s\n' "$desk_token" > "$dir/token"

# Signed in with a token file: her name and presence show, in Vietnamese.
t new-session -d -x 80 -y 24 -s desk \
  "$bin/hotline-desk --server $grpc --token-file $dir/token 2> $dir/desk.log"
wait_screen "HOTLINE 18001567 · Nguyễn Thị Lan · ĐÃ ĐĂNG XUẤT"
wait_screen "Đã kết nối tới $grpc"
# Ctrl-S, typed from habit, is not the terminal's XOFF: the screen goes on (regression: frozen
# until Ctrl-Q, offers ringing unseen).
t send-keys -t desk C-s
t send-keys -t desk a
wait_screen "Nguyễn Thị Lan · SẴN SÀNG"

# A window too small says so; back to 80x24 it draws again.
t resize-window -t desk -x 60 -y 20
wait_screen "^Cửa sổ quá nhỏ \(60x20\)"
t resize-window -t desk -x 80 -y 24
wait_screen "Nguyễn Thị Lan · SẴN SÀNG"

# A call from Thanh Hóa (38) that talks for 4 s once connected.
"$bin/hotline-sim" --server "$grpc" --gateway-id sim \
  --calls 1 --province 38 --topic counselling --caller +84912345678 --talk-ms 4000 \
  --no-exit-when-done > "$dir/sim.out" 2>&1 &
others+=("$!")
wait_screen "CUỘC GỌI ĐẾN · còn [0-9]+s"
call=$(sed -n 's/.* arrived call \([^ ]*\) from .*/\1/p' "$dir/sim.out")
[ -n "$call" ] || fail "no call id in $dir/sim.out"
screen_shows "Tỉnh/thành   Thanh Hóa " || fail "the offer does not show the province by name"
screen_shows "Trả lời trong [0-9]+s" || fail "the offer has no countdown"
screen_shows "\*\*\*\*\*\*\*\*\*\*78" || fail "the offer does not show the masked number"
t send-keys -t desk Enter
wait_screen "ĐANG NGHE MÁY · $call"
# The talk time, on its own line (the shift's figures have a talk time too).
wait_screen "^  Thời gian nói [0-9]+s"

# The call ends: the wrap-up form.
wait_screen "GHI KẾT QUẢ · $call"
if [ "$late" = late ]; then
  wait_screen "QUÁ HẠN: vẫn gửi được, kết quả sẽ được ghi là MUỘN"
else
  screen_shows "Còn [0-9]+s" || fail "the form has no countdown"
fi
# Family relationships is the 8th category; Space picks it and moves to the actions, where
# Space picks the first, counselling.
t send-keys -t desk Down Down Down Down Down Down Down Space
wait_screen "\(\*\) Quan hệ gia đình"
if [ "$late" = late ]; then
  # Another call rings over the late form, and its caller hangs up: the form is as it was.
  "$bin/hotline-sim" --server "$grpc" --gateway-id sim2 --calls 1 --province 38 \
    --topic counselling --caller +84900000022 --hang-up-after-ms 3000 --no-exit-when-done \
    > "$dir/sim2.out" 2>&1 &
  others+=("$!")
  wait_screen "CUỘC GỌI ĐẾN · còn [0-9]+s"
  wait_screen "Người gọi đã gác máy"
  screen_shows "\(\*\) Quan hệ gia đình" || fail "the late form lost its category"
  screen_shows "QUÁ HẠN" || fail "the form no longer says it is late"
fi
t send-keys -t desk Space
wait_screen "\(\*\) Tư vấn"
t send-keys -t desk s
if [ "$late" = late ]; then
  wait_screen "Đã ghi kết quả cuộc gọi $call \(ghi MUỘN"
else
  wait_screen "Đã ghi kết quả cuộc gọi $call\."
fi

row=$(sqlite3 "$dir/hotline.db" \
  "SELECT category, action FROM calls WHERE call_id = '$call'")
[ "$row" = "family_relationships|counselled" ] || fail "the calls row holds '$row'"
if [ "$late" = late ]; then
  late_at=$(sqlite3 "$dir/hotline.db" \
    "SELECT late_disposition_at IS NOT NULL FROM calls WHERE call_id = '$call'") ||
    fail "no late_disposition_at column"
  [ "$late_at" = 1 ] || fail "the disposition is not recorded as late"
fi

# The shift's figures count the call once its outcome is in.
if [ "$late" = late ]; then
  wait_screen "Chưa ghi kết quả 0   Ghi muộn 1"
else
  wait_screen "Cuộc gọi mời 1   Đã nhận 1   Từ chối 0   Lỡ 0"
  wait_screen "Cuộc gọi 1   Thời gian nói [0-9]+s"

  # The same caller again: the offer says they called before, with you, and about what; the
  # caller hangs up while it rings, and the screen says so. The three lines are read from one
  # capture of the ringing offer, which the hang-up replaces.
  "$bin/hotline-sim" --server "$grpc" --gateway-id sim2 --calls 1 --province 38 \
    --topic counselling --caller +84912345678 --hang-up-after-ms 3000 --no-exit-when-done \
    > "$dir/sim2.out" 2>&1 &
  others+=("$!")
  repeat_offer_shown() {
    screen_shows "GỌI LẠI: 1 lần trong 7 ngày · ĐÃ NÓI CHUYỆN VỚI BẠN" &&
      grep -Eq -- "Lần trước: Quan hệ gia đình" "$dir/screen.out" &&
      grep -Eq -- "Gần đây: [0-9/]+ [0-9:]+ \(bạn\)" "$dir/screen.out"
  }
  wait_until repeat_offer_shown
  wait_screen "Người gọi đã gác máy"
fi

# hotlined restarts on the same port: the desk says it is reconnecting, naming the address, and
# is back by itself within the grace period, still available.
stop_hotlined
wait_screen "ĐANG KẾT NỐI LẠI… / reconnecting… $grpc"
start_hotlined restarted "$grpc"
wait_screen "Đã kết nối tới $grpc"
wait_screen "Nguyễn Thị Lan · SẴN SÀNG"

# Q asks, Y quits: the session ends with the desk.
t send-keys -t desk q
wait_screen "Thoát hotline-desk\? Y: thoát"
t send-keys -t desk y
desk_gone() { ! t has-session -t desk 2>/dev/null; }
wait_until desk_gone
if grep -q "912345678" "$dir/screen.out" "$dir/desk.log"; then
  fail "the desk showed the raw caller number"
fi

stop_hotlined
echo "PASS: the full-screen desk${late:+ with a late disposition}"
