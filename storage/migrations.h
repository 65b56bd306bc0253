// The database schema as numbered migrations.
//
// Migration N (counting from 1) is Migrations()[N - 1]. The database's `PRAGMA user_version` is
// the number of migrations applied; Store::Open applies the missing ones in order, each in its own
// transaction together with the user_version bump, so a crash leaves the schema at a whole
// version. A migration, once released, is never edited: a schema change is a new migration.
//
// Thread-safety: immutable data, safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace hotline::storage {

// The migration scripts, oldest first. Each is one or more SQL statements. Public so tests can
// build a database of an older version and check that Store::Open upgrades it.
std::span<const std::string_view> Migrations();

}  // namespace hotline::storage
