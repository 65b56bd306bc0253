// HOTLINE_CHECK: aborts with a message when an invariant of our own code is broken. For bugs
// only; anything from the network, a file or the database is handled as a Status instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define HOTLINE_CHECK(cond)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)
