#!/usr/bin/env bash
# A checkout moved or copied elsewhere keeps a build/ whose CMake cache names the old place;
# CMake alone refuses it ("CMakeCache.txt directory ... is different"). deploy/build must start
# that build directory afresh and go on. Configures a copy of the tracked files whose build/
# holds a cache from elsewhere; builds only the `help` target (a list, no compiling).
#
# Usage: moved_checkout_test.sh SOURCE_DIR
set -euo pipefail
src=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$dir/build.out" ] && cat "$dir/build.out" >&2; exit 1; }

mkdir "$dir/copy"
# The tracked files and the new ones not ignored: what a commit of this tree would hold.
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T -) | tar xf - -C "$dir/copy"
# The browser test's packages, so deploy/setup has nothing to fetch.
[ -d "$src/tests/web/node_modules" ] && ln -s "$src/tests/web/node_modules" "$dir/copy/tests/web/"
mkdir "$dir/copy/build"
cat > "$dir/copy/build/CMakeCache.txt" <<TXT
CMAKE_HOME_DIRECTORY:INTERNAL=/somewhere/else
CMAKE_CACHEFILE_DIR:INTERNAL=/somewhere/else/build
TXT
# CMake alone refuses it (so the test shows what deploy/build adds).
if cmake -S "$dir/copy" -B "$dir/copy/build" > "$dir/plain.out" 2>&1; then
  fail "cmake accepted a cache made elsewhere: the test no longer shows anything"
fi
(cd "$dir/copy" && ./deploy/build help) > "$dir/build.out" 2>&1 || fail "deploy/build failed"
grep -q "configuring it afresh" "$dir/build.out" || fail "deploy/build did not say what it did"
grep -q "hotlined" "$dir/build.out" || fail "no target list: the build did not go on"
echo "PASS: a moved checkout configures afresh"
