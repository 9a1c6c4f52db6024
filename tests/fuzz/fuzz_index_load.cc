// fuzz_index_load: the input is an index image (index/index_format.h), as read
// from a cache file or shared memory. IndexView::open must refuse anything
// inconsistent with dlvidx::Error, at every Verify level; whatever a level
// accepts must answer every lookup within the image (walk_view).
//
// The checksum is recomputed before verifying: otherwise almost every
// mutation would stop at the checksum and the checks behind it would never
// run. (A stale checksum is simply refused; tests/unit covers that.) Here the
// question is what a well-checksummed bad image does.
#include <cstring>

#include "index/index_builder.h"
#include "tests/fuzz/fuzz_util.h"

using namespace dlvidx;
using Verify = index::IndexView::Verify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A heap copy of exactly `size` bytes (8-aligned, as mappings are): ASan
  // sees any read past its end.
  std::vector<uint8_t> image(data, data + size);
  if (size >= sizeof(index::IndexHeader)) {
    uint64_t sum = index::image_checksum(image.data(), size);
    std::memcpy(image.data() + offsetof(index::IndexHeader, checksum), &sum, sizeof sum);
  }
  bool accepted_below = true;  // a stricter level never accepts what a laxer one refused
  for (Verify level : {Verify::kLayout, Verify::kChecksum, Verify::kFull}) {
    bool ok = fuzz::expect_errors([&] {
      index::IndexView v = index::IndexView::open(Bytes(image), level);
      FUZZ_CHECK(accepted_below);
      fuzz::walk_view(v, level == Verify::kFull);
    });
    accepted_below = accepted_below && ok;
  }
  return 0;
}
