// The VFS the Store opens its database with: SQLite's own (the default, "unix"), except that a
// WAL file's writes are gathered and reach the file as one write per commit.
//
// Why: SQLite writes each WAL frame as two writes, its 24-byte header and then its page. A commit
// of the daemon's writer leaves about 46 frames (2 KB pages): 92 pwrite(2) calls, each taking
// its own trip through the kernel and the page cache. They were 42 % of the writer thread's time
// at max load (docs/performance.md, "WAL frames written at once").
//
// What it keeps of SQLite's guarantees:
// - A commit's frames reach the file before the commit returns, and before any other
//   connection can see it: the write of a commit frame's page (the frame whose header holds the
//   database size) writes out everything gathered, and its failure is that write's failure, so
//   SQLite rolls the transaction back as it would have. Every other call on the WAL file (read,
//   sync, truncate, size, file control, close) writes out first. So does the database file's
//   shared-memory barrier, which SQLite calls just before it publishes a commit in the WAL index:
//   nothing is pending there by then.
// - A write that is not the next byte of the file (a checksum rewritten in place, the WAL header
//   after a reset) writes out what is gathered, then goes to the file as it came.
// - Frames gathered for a transaction that never commits (a cache spill) that cannot be written
//   at the barrier make the next write or sync fail, so that transaction fails too; were a
//   commit frame ever among them, the process aborts before the commit is published (it would
//   be a crash at that instant: the journal recovers what was acknowledged).
//
// Bounds: at most kWalBufferBytes gathered per open WAL file (one per connection opened with
// this VFS: the Store's); a longer run of frames is written when the buffer fills, and a single
// write larger than it goes to the file as it came.
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
// name already taken, SQLITE_CANTOPEN for a root VFS older than version 1's methods need.
int RegisterWalBufferVfs(const char* name, sqlite3_vfs* root);

}  // namespace hotline::storage
