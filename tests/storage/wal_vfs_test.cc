// The VFS that gathers a WAL file's writes (storage/wal_vfs.h): through the Store, commits larger
// than one system write and visible to another connection as soon as Commit returns; through a
// counting VFS beneath it, one write per commit where SQLite alone makes two per frame.
#include "storage/wal_vfs.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "storage/batch.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.

// Journal entries first_seq .. first_seq + count - 1, each `bytes` long.
Batch JournalBatch(int64_t first_seq, int count, std::size_t bytes) {
  Batch batch;
  for (int64_t seq = first_seq; seq < first_seq + count; ++seq) {
    batch.journal.push_back(
        JournalEntry{seq, seq, std::string(bytes, static_cast<char>('a' + seq % 26))});
  }
  return batch;
}

TEST_CASE("a commit whose frames pass one system write's limit is written whole") {
  // SQLite's unix VFS writes at most 128 KiB - 1 in one call and calls a longer write a full
  // disk; 1,000 rows of 400 bytes leave about 200 frames (420 KB).
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  REQUIRE_OK(store->Commit(JournalBatch(1, 1000, 400)));
  REQUIRE_OK(store->Commit(JournalBatch(1001, 10, 400)));
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM journal") == 1010);
  CHECK(Count(db.path(), "SELECT SUM(LENGTH(record)) FROM journal") == 1010 * 400);
}

TEST_CASE("another connection sees each commit as soon as Commit returns, across checkpoints") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
  int64_t seq = 1;
  int checkpoints = 0;
  for (int commit = 1; commit <= 500; ++commit) {
    REQUIRE_OK(store->Commit(JournalBatch(seq, 20, 400)));
    seq += 20;
    // The reader's own connection, kept open: it reads the WAL the writer's commit published.
    REQUIRE(reader.execAndGet("SELECT COUNT(*) FROM journal").getInt64() == seq - 1);
    REQUIRE(reader.execAndGet("SELECT MAX(seq) FROM journal").getInt64() == seq - 1);
    absl::StatusOr<bool> ran = store->CheckpointIfDue(Sink::Moment::kAfterAnswers);
    REQUIRE(ran.ok());
    checkpoints += *ran ? 1 : 0;
  }
  CHECK(checkpoints >= 2);  // The WAL was reset and written from its start again.
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM journal") == seq - 1);
}

// Beneath the gathering VFS: SQLite's default, with every WAL file's writes counted.
struct CountingVfs {
  static inline sqlite3_vfs* root = nullptr;
  static inline sqlite3_vfs vfs{};
  static inline const sqlite3_io_methods* real_methods = nullptr;
  static inline sqlite3_io_methods methods{};
  static inline int64_t wal_writes = 0;
  // When at least 0: a WAL write longer than this many bytes fails, as on a full disk.
  static inline int fail_writes_over = -1;

  static int Write(sqlite3_file* file, const void* in, int amount, sqlite3_int64 offset) {
    ++wal_writes;
    if (fail_writes_over >= 0 && amount > fail_writes_over) {
      return SQLITE_FULL;
    }
    return real_methods->xWrite(file, in, amount, offset);
  }
  // The default VFS's own file, with a copy of its methods in which xWrite counts (the unix
  // VFS's files all share one table of methods).
  static int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out) {
    const int rc = root->xOpen(root, name, file, flags, out);
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0) {
      if (real_methods != nullptr && real_methods != file->pMethods) {
        file->pMethods->xClose(file);  // Every WAL file of the unix VFS shares one table.
        return SQLITE_CANTOPEN;
      }
      real_methods = file->pMethods;
      methods = *real_methods;
      methods.xWrite = Write;
      file->pMethods = &methods;
    }
    return rc;
  }
  static void RegisterOnce() {
    if (root != nullptr) {
      return;
    }
    root = sqlite3_vfs_find(nullptr);
    vfs = *root;
    vfs.zName = "hotline-test-counting";
    vfs.xOpen = Open;
    REQUIRE(sqlite3_vfs_register(&vfs, 0) == SQLITE_OK);
    REQUIRE(RegisterWalBufferVfs("hotline-test-gathering", &vfs) == SQLITE_OK);
  }
};

// A connection through `vfs` to a new database at `path`: 2 KiB pages, WAL, synchronous NORMAL
// (no sync at commit: a commit's own page write is what writes its frames out), and a table
// t (id, body).
std::unique_ptr<SQLite::Database> OpenWal(const std::string& path, const char* vfs) {
  auto db = std::make_unique<SQLite::Database>(
      path.c_str(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 0, vfs);
  db->exec("PRAGMA page_size = 2048");
  db->exec("PRAGMA journal_mode = WAL");
  db->exec("PRAGMA synchronous = NORMAL");
  db->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
  return db;
}

// WAL writes made by one transaction of 40 rows of 600 bytes (about 15 frames of 2 KB pages),
// through the VFS named `vfs`, checked from a second connection on the default VFS.
int64_t WritesOfOneCommit(const std::string& path, const char* vfs) {
  std::unique_ptr<SQLite::Database> opened = OpenWal(path, vfs);
  SQLite::Database& writer = *opened;
  writer.exec("INSERT INTO t (body) VALUES ('first')");  // The WAL's header is written by now.
  const int64_t before = CountingVfs::wal_writes;
  writer.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
      "INSERT INTO t (body) SELECT hex(zeroblob(300)) FROM n");
  const int64_t writes = CountingVfs::wal_writes - before;
  SQLite::Database reader(path, SQLite::OPEN_READONLY);
  REQUIRE(reader.execAndGet("SELECT COUNT(*) FROM t").getInt64() == 41);
  REQUIRE(reader.execAndGet("SELECT SUM(LENGTH(body)) FROM t").getInt64() == 5 + 40 * 600);
  return writes;
}

TEST_CASE("a commit's frames reach the WAL file in one write, where SQLite makes two per frame") {
  CountingVfs::RegisterOnce();
  TempDb plain;
  TempDb gathered;
  const int64_t frames_written_alone = WritesOfOneCommit(plain.path(), "hotline-test-counting");
  const int64_t gathered_writes = WritesOfOneCommit(gathered.path(), "hotline-test-gathering");
  INFO("SQLite alone: " << frames_written_alone << " writes; gathered: " << gathered_writes);
  CHECK(frames_written_alone >= 2 * 12);  // A header and a page for each of at least 12 frames.
  CHECK(gathered_writes == 1);
}

TEST_CASE("a commit whose page cannot be written fails, though its header was written alone") {
  CountingVfs::RegisterOnce();
  TempDb db;
  {
    std::unique_ptr<SQLite::Database> opened = OpenWal(db.path(), "hotline-test-gathering");
    SQLite::Database& writer = *opened;
    writer.exec("INSERT INTO t (body) VALUES ('kept')");
    // Pages fail, 24-byte frame headers do not: a disk that fills in the middle of a frame.
    CountingVfs::fail_writes_over = 24;
    // The first try gathers header and page and writes them at once: that fails. The second
    // starts where the first did, inside the log already written: its header goes to the file
    // on its own (and succeeds), and its page must still be written, and fail, before the
    // commit returns.
    CHECK_THROWS(writer.exec("INSERT INTO t (body) VALUES ('first try')"));
    CHECK_THROWS(writer.exec("INSERT INTO t (body) VALUES ('second try')"));
    CountingVfs::fail_writes_over = -1;
    writer.exec("INSERT INTO t (body) VALUES ('after')");
  }
  SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
  CHECK(reader.execAndGet("PRAGMA integrity_check").getString() == "ok");
  SQLite::Statement rows(reader,
                         "SELECT group_concat(body, ',') FROM (SELECT body FROM t ORDER BY id)");
  REQUIRE(rows.executeStep());
  CHECK(rows.getColumn(0).getString() == "kept,after");
}

TEST_CASE("frames of a transaction rolled back never reach the file once its write lock is gone") {
  CountingVfs::RegisterOnce();
  TempDb db;
  std::unique_ptr<SQLite::Database> opened = OpenWal(db.path(), "hotline-test-gathering");
  SQLite::Database& gathering = *opened;
  gathering.exec("INSERT INTO t (body) VALUES ('kept')");
  // Everything in the database file, so the transaction reads nothing from the log; and a
  // cache of a few pages, so its pages spill into the log before it ends.
  gathering.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  gathering.exec("PRAGMA cache_size = 4");
  gathering.exec("BEGIN");
  gathering.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
      "INSERT INTO t (body) SELECT hex(zeroblob(300)) || 'spilled' FROM n");
  gathering.exec("ROLLBACK");
  // Another connection commits frames where the spilled ones were, and stays open (closing
  // would checkpoint them into the database file, out of the log's reach).
  SQLite::Database other(db.path(), SQLite::OPEN_READWRITE);
  other.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
      "INSERT INTO t (body) SELECT hex(zeroblob(300)) || 'other' FROM n");
  // The first connection reads again: nothing it held may land on the other's frames.
  CHECK(gathering.execAndGet("SELECT COUNT(*) FROM t WHERE body LIKE '%other'").getInt64() == 100);
  CHECK(gathering.execAndGet("SELECT COUNT(*) FROM t WHERE body LIKE '%spilled'").getInt64() == 0);
  SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
  CHECK(reader.execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(reader.execAndGet("SELECT COUNT(*) FROM t").getInt64() == 101);
}

TEST_CASE("frames rewritten in place within a commit reach the file before it returns") {
  CountingVfs::RegisterOnce();
  TempDb db;
  TempDb copy;
  std::unique_ptr<SQLite::Database> opened = OpenWal(db.path(), "hotline-test-gathering");
  SQLite::Database& writer = *opened;
  writer.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  // Pages spill into the log, then are changed again in the same transaction: SQLite rewrites
  // those frames in place and, at the commit, every later frame header's checksums.
  writer.exec("PRAGMA cache_size = 4");
  writer.exec("BEGIN");
  writer.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
      "INSERT INTO t (body) SELECT hex(zeroblob(300)) FROM n");
  writer.exec("UPDATE t SET body = 'changed ' || id");
  writer.exec("COMMIT");
  // The files as a crash would leave them now: the copy's log is read by recovery, which trusts
  // frames only as far as their checksums chain.
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::copy_file(db.path() + suffix, copy.path() + suffix);
  }
  SQLite::Database recovered(copy.path(), SQLite::OPEN_READWRITE);
  CHECK(recovered.execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(recovered.execAndGet("SELECT COUNT(*) FROM t WHERE body = 'changed ' || id").getInt64() ==
        200);
}

TEST_CASE("the gathering VFS is registered once, and a second registration of a name is refused") {
  const char* name = WalBufferVfs();
  CHECK(WalBufferVfs() == name);
  CHECK(sqlite3_vfs_find(name) != nullptr);
  CHECK(RegisterWalBufferVfs(name, sqlite3_vfs_find(nullptr)) == SQLITE_MISUSE);
}

}  // namespace
}  // namespace hotline::storage
