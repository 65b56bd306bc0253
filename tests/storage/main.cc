// The Catch2 main of storage_test, in its own file so the tests recompile without it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
