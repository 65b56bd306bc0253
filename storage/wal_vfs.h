// The VFS the Store opens its database with: SQLite's own (the default, "unix"), except that a
// WAL file's writes are gathered and reach the file as one write per commit.
//
// Why: SQLite writes each WAL frame as two writes, its 24-byte header and then its page. A commit
// of the daemon's writer leaves about 46 frames (2 KB pages): 92 pwrite(2) calls, each taking
// its own trip through the kernel and the page cache. They were 42 % of the writer thread's time
// at max load (docs/performance.md, "WAL frames written at once").
//
// What it keeps of SQLite's guarantees:
// - A commit's frames are in the file before the commit returns: a commit frame's header (the
//   frame whose header holds the database's size) is followed by its page, and the write of that
//   page writes out everything gathered (or, inside the log already written, goes to the file as
//   it comes); its failure is that write's failure, so SQLite rolls the transaction back as it
//   would have.
// - Frames SQLite rewrites in place (a header's checksums, a page written twice in one
//   transaction: anything inside the log already written) go to the file as they come, so
//   their failure is theirs too.
// - No other connection sees a commit before its frames are in the file: SQLite publishes a
//   commit in the WAL index after the database file's shared-memory barrier, which writes out
//   anything still gathered (a write that failed in a call whose error SQLite ignores; the tail
//   of a padding frame split at its sync point, at synchronous = FULL on a device without
//   power-safe overwrite). Should that write fail, the process aborts before the commit is
//   published, as a crash at that instant would: the journal recovers what was acknowledged.
// - Frames of a transaction that never commits (pages spilled into the log, then rolled back)
//   are dropped when the transaction lets go of the WAL write lock: written later, they would
//   land on frames another connection may have committed at the same place.
// - Every other call on the log (read, sync, truncate, size, file control, close) writes out
//   first. A write past the log's end that does not continue what is gathered (the log's header
//   after a reset) writes that out first, and is then gathered itself. A write that fails stays
//   gathered, to be written again by the next call.
//
// Bounds: kWalBufferBytes per open WAL file (one per connection opened with this VFS: the
// Store's), allocated when the file opens; a longer run of frames is written when the buffer
// fills, and a single write larger than it (never from SQLite: pages are at most 64 KiB) goes to
// the file as it came.
//
// Not for a connection in exclusive locking mode, where SQLite keeps the WAL index in its own
// memory and calls neither the barrier nor the lock (the Store never uses it).
//
// Thread-safety: registration is once per process and thread-safe. Each file is used by its
// connection only, as SQLite's own are.
#pragma once

#include <cstddef>

struct sqlite3_vfs;

namespace hotline::storage {

// Under 128 KiB: SQLite's unix VFS writes at most 0x1ffff bytes in one call to the system, and
// reports a longer write as a full disk (seekAndWriteFd). A commit's 46 frames of the daemon's
// 2 KB pages (95 KB) fit.
inline constexpr std::size_t kWalBufferBytes = 120 * 1024;
static_assert(kWalBufferBytes < 0x1ffff);

// The name of the VFS, registered (not as the default) on first use, over the default VFS.
const char* WalBufferVfs();

// For tests: registers a VFS named `name` (a string that lives as long as the process) over
// `root` (likewise), not as the default. SQLite's result code: SQLITE_OK, or SQLITE_MISUSE for a
// name already taken, SQLITE_CANTOPEN for a root VFS older than version 2.
int RegisterWalBufferVfs(const char* name, sqlite3_vfs* root);

}  // namespace hotline::storage
