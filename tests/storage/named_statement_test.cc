// NamedStatement (storage/sqlite_support.h): binding by name through remembered indexes gives
// the rows SQLite's own bind by name gives, in any order, and refuses a name the SQL lacks.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "storage/sqlite_support.h"

namespace hotline::storage {
namespace {

// Inserts (a, b, c) through `s` and returns the row as text, "a|b|c" (NULL as "-").
template <typename Bind>
std::string InsertAndRead(SQLite::Database& db, NamedStatement& s, Bind bind) {
  db.exec("DELETE FROM t");
  {
    StatementUse use(s);
    bind(*use);
    (*use).exec();
  }
  SQLite::Statement row(db,
                        "SELECT IFNULL(a, '-') || '|' || IFNULL(b, '-') || '|' || "
                        "IFNULL(c, '-') FROM t");
  REQUIRE(row.executeStep());
  return row.getColumn(0).getString();
}

TEST_CASE("a named statement binds each name to its own parameter, in any order") {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (a, b, c)");
  // :b appears twice in the SQL; SQLite gives it one index.
  NamedStatement s(db, "INSERT INTO t (a, b, c) VALUES (:a, :b, :c || :b)");

  CHECK(InsertAndRead(db, s, [](NamedStatement& n) {
          n.bind(":a", int64_t{1});
          n.bind(":b", std::string("x"));
          n.bind(":c", "y");
        }) == "1|x|yx");
  // The same names in another order, each row after the first served from the remembered ones.
  for (int round = 0; round < 3; ++round) {
    CHECK(InsertAndRead(db, s, [](NamedStatement& n) {
            n.bind(":c", "q");
            n.bind(":a", 2);
            n.bind(":b", "r");
          }) == "2|r|qr");
    CHECK(InsertAndRead(db, s, [](NamedStatement& n) {
            n.bind(":b", "s");
            n.bind(":c", "t");
            n.bind(":a");  // NULL.
          }) == "-|s|ts");
  }
  // A name from another text at another address is looked up on its own, and agrees.
  static constexpr char kC[] = ":c";
  CHECK(InsertAndRead(db, s, [](NamedStatement& n) {
          n.bind(kC, "u");
          n.bind(":a", 3);
          n.bind(":b", "v");
        }) == "3|v|uv");
}

TEST_CASE("a named statement refuses a name its SQL does not have, and binds on after it") {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (a, b, c)");
  NamedStatement s(db, "INSERT INTO t (a, b, c) VALUES (:a, :b, :c)");
  {
    StatementUse use(s);
    CHECK_THROWS_AS((*use).bind(":d", 1), SQLite::Exception);
    CHECK_THROWS_AS((*use).bind(":d", 1), SQLite::Exception);  // Not remembered as found.
  }
  CHECK(InsertAndRead(db, s, [](NamedStatement& n) {
          n.bind(":a", 1);
          n.bind(":b", 2);
          n.bind(":c", 3);
        }) == "1|2|3");
}

}  // namespace
}  // namespace hotline::storage
