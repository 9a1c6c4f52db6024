// Content-Length framing on raw byte strings (lldb-dap's TransportTest cases):
// split reads, several messages in one read, bad or negative lengths,
// oversize frames refused without allocation, EOF mid-body.
#include "dap-shim/transport.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using dlvidx::dap::encode_frame;
using dlvidx::dap::FrameDecoder;
using S = FrameDecoder::Status;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("frames split anywhere reassemble", "[transport]") {
  std::string wire = encode_frame(R"({"seq":1})") + encode_frame(R"({"seq":2,"x":"\r\n\r\n"})");
  for (size_t cut = 0; cut <= wire.size(); cut++) {
    FrameDecoder d;
    std::string_view body, raw;
    std::vector<std::string> got;
    d.feed(wire.substr(0, cut));
    while (d.next(body, raw) == S::kMessage) got.emplace_back(body);
    d.feed(wire.substr(cut));
    S s;
    while ((s = d.next(body, raw)) == S::kMessage) got.emplace_back(body);
    CHECK(s == S::kNeedMore);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == R"({"seq":1})");
    CHECK(got[1] == R"({"seq":2,"x":"\r\n\r\n"})");
  }
}

TEST_CASE("raw frames are the exact bytes, other header fields kept", "[transport]") {
  FrameDecoder d;
  std::string wire = "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  d.feed(wire);
  std::string_view body, raw;
  REQUIRE(d.next(body, raw) == S::kMessage);
  CHECK(raw == wire);
  CHECK(body == "{}");
}

TEST_CASE("bad headers are errors, never allocations", "[transport]") {
  auto error_of = [](std::string wire) {
    FrameDecoder d;
    d.feed(wire);
    std::string_view body, raw;
    S s = d.next(body, raw);
    return s == S::kError ? d.error() : std::string("no error");
  };
  CHECK_THAT(error_of("Content-Type: x\r\n\r\n{}"), ContainsSubstring("missing Content-Length"));
  CHECK_THAT(error_of("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
             ContainsSubstring("duplicate"));
  CHECK_THAT(error_of("Content-Length: -1\r\n\r\n"),
             ContainsSubstring("not a non-negative integer"));
  CHECK_THAT(error_of("Content-Length: abc\r\n\r\n"),
             ContainsSubstring("not a non-negative integer"));
  CHECK_THAT(error_of("Content-Length: 2147483648\r\n\r\n"), ContainsSubstring("exceeds"));
  CHECK_THAT(error_of("Content-Length: 99999999999999999999999\r\n\r\n"),
             ContainsSubstring("not a non-negative"));
  CHECK_THAT(error_of("garbage\r\n\r\n"), ContainsSubstring("malformed header"));
  CHECK_THAT(error_of(std::string(10000, 'x')), ContainsSubstring("header longer"));
}

TEST_CASE("a body cut short waits for more", "[transport]") {
  FrameDecoder d;
  d.feed("Content-Length: 10\r\n\r\n{\"a\":");
  std::string_view body, raw;
  CHECK(d.next(body, raw) == S::kNeedMore);
  CHECK(d.buffered() > 0);
}
