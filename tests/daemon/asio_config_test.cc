// Asio decides how to allocate its handlers' memory from what the preprocessor has seen when
// asio/detail/config.hpp is first read, so two files of one program could decide differently
// and free with std::free what they allocated with operator new (an ODR violation that
// AddressSanitizer reports as alloc-dealloc-mismatch when the daemon stops). The build fixes the
// choice for every file (hotline_asio, ASIO_DISABLE_STD_ALIGNED_ALLOC): this file includes a
// standard header first, the order that made the other choice, and checks it was not made.
#include <cstddef>

#include <asio/detail/config.hpp>
#include <asio/detail/memory.hpp>
#include <catch2/catch.hpp>

TEST_CASE("asio allocates handler memory the same way whatever a file includes first", "[daemon]") {
#if defined(ASIO_HAS_STD_ALIGNED_ALLOC)
  FAIL("ASIO_HAS_STD_ALIGNED_ALLOC is set here: files that include Asio first do not set it");
#else
  void* p = asio::aligned_new(alignof(std::max_align_t), 64);
  REQUIRE(p != nullptr);
  asio::aligned_delete(p);
  SUCCEED();
#endif
}
