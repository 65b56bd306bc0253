#include "storage/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace hotline::storage {
namespace {

// A WAL frame's header: page number, then the database's size in pages after a commit (zero in
// every frame but a commit's), salts and checksums; all big-endian.
constexpr int kFrameHeaderBytes = 24;

// What is gathered of one WAL file, and where it goes. Made with its whole buffer at the file's
// opening (new (std::nothrow)), so no write allocates and no exception crosses SQLite's frames.
struct Gathered {
  unsigned char bytes[kWalBufferBytes];
  std::size_t size = 0;  // bytes[0, size) are to be written at `start`.
  sqlite3_int64 start = 0;
  // The end of the log as written or gathered since its header was last written (at offset 0):
  // a write that ends at or before it rewrites frames in place.
  sqlite3_int64 end = 0;
  // Where the page of a commit frame whose header was the last write starts, or -1.
  sqlite3_int64 commit_page_at = -1;
};

// Our file: SQLite allocates szOsFile bytes for it; the real VFS's file follows at kRealOffset.
struct ShimFile {
  sqlite3_file base;   // pMethods: kPlainMethods or kWalMethods.
  sqlite3_file* real;  // Inside this allocation.
  ShimFile* wal;       // A main database: its WAL file while both are open.
  ShimFile* database;  // A WAL file: its main database, if opened through this VFS.
  Gathered* gathered;  // A WAL file only.
};
constexpr int kRealOffset = (sizeof(ShimFile) + 7) / 8 * 8;

ShimFile* Shim(sqlite3_file* file) { return reinterpret_cast<ShimFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Shim(file)->real; }
const sqlite3_io_methods& RealMethods(sqlite3_file* file) { return *Real(file)->pMethods; }

// Writes out what the WAL file `file` has gathered. Its result is the real write's; what failed
// stays gathered, so a later call (at the latest the barrier before a commit is published)
// writes it again, unless the transaction ends without a commit (Drop).
int WriteOut(ShimFile* file) {
  Gathered& g = *file->gathered;
  if (g.size == 0) {
    return SQLITE_OK;
  }
  const int rc =
      RealMethods(&file->base).xWrite(file->real, g.bytes, static_cast<int>(g.size), g.start);
  if (rc == SQLITE_OK) {
    g.size = 0;
  }
  return rc;
}

// Forgets what is gathered, unwritten.
void Drop(ShimFile* file) {
  Gathered& g = *file->gathered;
  g.size = 0;
  g.commit_page_at = -1;
}

// --- The main database and every other file: as the real VFS, but the barrier writes out. ---

int PlainClose(sqlite3_file* file) {
  if (ShimFile* wal = Shim(file)->wal; wal != nullptr) {
    wal->database = nullptr;
  }
  return RealMethods(file).xClose(Real(file));
}
int PlainRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  return RealMethods(file).xRead(Real(file), out, amount, offset);
}
int PlainWrite(sqlite3_file* file, const void* in, int amount, sqlite3_int64 offset) {
  return RealMethods(file).xWrite(Real(file), in, amount, offset);
}
int PlainTruncate(sqlite3_file* file, sqlite3_int64 size) {
  return RealMethods(file).xTruncate(Real(file), size);
}
int PlainSync(sqlite3_file* file, int flags) { return RealMethods(file).xSync(Real(file), flags); }
int PlainFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return RealMethods(file).xFileSize(Real(file), size);
}
int Lock(sqlite3_file* file, int level) { return RealMethods(file).xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) { return RealMethods(file).xUnlock(Real(file), level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return RealMethods(file).xCheckReservedLock(Real(file), out);
}
int PlainFileControl(sqlite3_file* file, int op, void* arg) {
  return RealMethods(file).xFileControl(Real(file), op, arg);
}
int SectorSize(sqlite3_file* file) { return RealMethods(file).xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return RealMethods(file).xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int page, int page_bytes, int extend, void volatile** out) {
  return RealMethods(file).xShmMap(Real(file), page, page_bytes, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return RealMethods(file).xShmLock(Real(file), offset, n, flags);
}
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return RealMethods(file).xShmUnmap(Real(file), delete_flag);
}
int PlainFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return RealMethods(file).xFetch(Real(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  return RealMethods(file).xUnfetch(Real(file), offset, p);
}

// SQLite calls it on the main database's file just before it publishes a commit in the WAL index
// (and in readers' checks of the index). A commit frame is written out with its page, and frames
// rewritten in place go to the file as they come, so what is gathered here can only belong to
// the commit being published and have failed once already (a call whose error SQLite ignores,
// such as the size check of journal_size_limit) or be the tail of a padding frame that SQLite
// split at its sync point (synchronous = FULL on a device without power-safe overwrite): it is
// written, and if that fails the process stops before the commit is published, as a crash at
// that instant would (the journal recovers what was acknowledged).
void PlainShmBarrier(sqlite3_file* file) {
  if (ShimFile* wal = Shim(file)->wal; wal != nullptr) {
    if (const int rc = WriteOut(wal); rc != SQLITE_OK) {
      std::fprintf(stderr, "a WAL frame could not be written before its commit (SQLite code %d)\n",
                   rc);
      std::abort();
    }
  }
  RealMethods(file).xShmBarrier(Real(file));
}

// SQLite's lock of the WAL index that a writer holds for its whole write transaction.
constexpr int kWalWriteLock = 0;

// The end of a write transaction on this connection: what is still gathered then was never
// part of a commit (a commit frame writes everything out with its page), so it belongs to a
// transaction rolled back after its pages spilled into the log. Written later it would land on
// frames another connection may commit at the same place once the lock is gone: it is dropped.
int PlainShmLock(sqlite3_file* file, int offset, int n, int flags) {
  if (ShimFile* wal = Shim(file)->wal; wal != nullptr && offset == kWalWriteLock && n == 1 &&
                                       flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
    Drop(wal);
  }
  return ShmLock(file, offset, n, flags);
}

constexpr sqlite3_io_methods kPlainMethods = {
    3,
    PlainClose,
    PlainRead,
    PlainWrite,
    PlainTruncate,
    PlainSync,
    PlainFileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    PlainFileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    PlainShmLock,
    PlainShmBarrier,
    ShmUnmap,
    PlainFetch,
    Unfetch,
};

// --- A WAL file: writes gathered, written out before anything else touches the file. ---

bool IsCommitHeader(const void* in) {
  const auto* bytes = static_cast<const unsigned char*>(in);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int WalWrite(sqlite3_file* file, const void* in, int amount, sqlite3_int64 offset) {
  ShimFile* shim = Shim(file);
  Gathered& g = *shim->gathered;
  const auto bytes = static_cast<std::size_t>(amount);
  // Inside the log already written: SQLite rewriting a frame in place (its header's checksums,
  // a page written twice in one transaction), or a transaction after a failed one starting again
  // where that one did. As it comes, so its failure is this write's.
  const bool in_place = offset > 0 && offset + amount <= g.end;
  g.end = offset == 0 ? offset + amount : std::max(g.end, offset + amount);
  // This write is the page of a commit frame whose header came just before it.
  const bool commit_page = offset == g.commit_page_at;
  g.commit_page_at = amount == kFrameHeaderBytes && IsCommitHeader(in) ? offset + amount : -1;
  const bool continues = g.size > 0 && offset == g.start + static_cast<sqlite3_int64>(g.size);
  if (in_place || bytes > kWalBufferBytes || (g.size > 0 && !continues) ||
      g.size + bytes > kWalBufferBytes) {
    if (const int rc = WriteOut(shim); rc != SQLITE_OK) {
      g.commit_page_at = -1;
      return rc;
    }
  }
  if (in_place || bytes > kWalBufferBytes) {  // SQLite's pages are at most 64 KiB.
    return RealMethods(file).xWrite(shim->real, in, amount, offset);
  }
  if (g.size == 0) {
    g.start = offset;
  }
  std::memcpy(g.bytes + g.size, in, bytes);
  g.size += bytes;
  if (commit_page) {
    return WriteOut(shim);  // A commit frame is whole: out before the commit returns.
  }
  return SQLITE_OK;
}

int WalClose(sqlite3_file* file) {
  ShimFile* shim = Shim(file);
  const int written = WriteOut(shim);
  if (shim->database != nullptr) {
    shim->database->wal = nullptr;
  }
  delete shim->gathered;
  shim->gathered = nullptr;
  const int closed = RealMethods(file).xClose(shim->real);
  return written != SQLITE_OK ? written : closed;
}
int WalRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  return PlainRead(file, out, amount, offset);
}
int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  Gathered& g = *Shim(file)->gathered;
  g.end = std::min(g.end, size);
  return PlainTruncate(file, size);
}
int WalSync(sqlite3_file* file, int flags) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  return PlainSync(file, flags);
}
int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  return PlainFileSize(file, size);
}
int WalFileControl(sqlite3_file* file, int op, void* arg) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  return PlainFileControl(file, op, arg);
}
int WalFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  if (const int rc = WriteOut(Shim(file)); rc != SQLITE_OK) {
    return rc;
  }
  return PlainFetch(file, offset, amount, out);
}

// The plain methods, with those that touch the log's bytes writing out first.
constexpr sqlite3_io_methods WalMethods() {
  sqlite3_io_methods methods = kPlainMethods;
  methods.xClose = WalClose;
  methods.xRead = WalRead;
  methods.xWrite = WalWrite;
  methods.xTruncate = WalTruncate;
  methods.xSync = WalSync;
  methods.xFileSize = WalFileSize;
  methods.xFileControl = WalFileControl;
  methods.xFetch = WalFetch;
  return methods;
}
const sqlite3_io_methods kWalMethods = WalMethods();

// --- The VFS: the root's, with xOpen wrapping each file. ---

sqlite3_vfs* Root(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  ShimFile* shim = Shim(file);
  shim->base.pMethods = nullptr;
  shim->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  shim->real->pMethods = nullptr;
  shim->wal = nullptr;
  shim->database = nullptr;
  shim->gathered = nullptr;
  const bool is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (is_wal) {
    shim->gathered = new (std::nothrow) Gathered();
    if (shim->gathered == nullptr) {
      return SQLITE_NOMEM;
    }
  }
  sqlite3_vfs* root = Root(vfs);
  int rc = root->xOpen(root, name, shim->real, flags, out_flags);
  if (rc == SQLITE_OK && shim->real->pMethods->iVersion < 3) {
    rc = SQLITE_CANTOPEN;  // Every file of SQLite's unix VFS has version 3's methods.
  }
  if (rc != SQLITE_OK) {
    if (shim->real->pMethods != nullptr) {
      shim->real->pMethods->xClose(shim->real);
    }
    delete shim->gathered;
    shim->gathered = nullptr;
    return rc;
  }
  shim->base.pMethods = is_wal ? &kWalMethods : &kPlainMethods;
  if (is_wal) {
    sqlite3_file* database = sqlite3_database_file_object(name);
    if (database != nullptr && database->pMethods == &kPlainMethods) {
      shim->database = Shim(database);
      shim->database->wal = shim;
    }
  }
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Root(vfs)->xDelete(Root(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Root(vfs)->xAccess(Root(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return Root(vfs)->xFullPathname(Root(vfs), name, size, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Root(vfs)->xDlOpen(Root(vfs), name); }
void DlError(sqlite3_vfs* vfs, int size, char* out) { Root(vfs)->xDlError(Root(vfs), size, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Root(vfs)->xDlSym(Root(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Root(vfs)->xDlClose(Root(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int size, char* out) {
  return Root(vfs)->xRandomness(Root(vfs), size, out);
}
int Sleep(sqlite3_vfs* vfs, int microseconds) { return Root(vfs)->xSleep(Root(vfs), microseconds); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Root(vfs)->xCurrentTime(Root(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int size, char* out) {
  return Root(vfs)->xGetLastError(Root(vfs), size, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Root(vfs)->xCurrentTimeInt64(Root(vfs), out);
}

}  // namespace

int RegisterWalBufferVfs(const char* name, sqlite3_vfs* root) {
  if (root == nullptr || root->iVersion < 2 || sqlite3_vfs_find(name) != nullptr) {
    return root == nullptr || root->iVersion < 2 ? SQLITE_CANTOPEN : SQLITE_MISUSE;
  }
  // Lives as long as the process: SQLite keeps the pointer.
  auto* vfs = new sqlite3_vfs{};
  vfs->iVersion = 2;
  vfs->szOsFile = kRealOffset + root->szOsFile;
  vfs->mxPathname = root->mxPathname;
  vfs->zName = name;
  vfs->pAppData = root;
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  const int rc = sqlite3_vfs_register(vfs, 0);
  if (rc != SQLITE_OK) {
    delete vfs;
  }
  return rc;
}

const char* WalBufferVfs() {
  static constexpr const char* kName = "hotline-wal-buffer";
  static std::once_flag once;
  // Should it fail, opening with the name fails with SQLite's "no such vfs: hotline-wal-buffer".
  std::call_once(once, [] { RegisterWalBufferVfs(kName, sqlite3_vfs_find(nullptr)); });
  return kName;
}

}  // namespace hotline::storage
