// The DAP base protocol, and nothing else: "Content-Length: N\r\n" (other
// header fields allowed and ignored) "\r\n" then N bytes of JSON. The decoder
// never looks inside a body; it hands back the body and the whole raw frame,
// so messages the shim does not intercept are forwarded byte for byte
// (lldb-dap's Transport layer).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dlvidx::dap {

// Larger frames are refused without being allocated.
inline constexpr size_t kMaxMessageBytes = 64u << 20;
inline constexpr size_t kMaxHeaderBytes = 8u << 10;

class FrameDecoder {
 public:
  enum class Status { kMessage, kNeedMore, kError };

  void feed(std::string_view bytes) { buf_.append(bytes); }
  // kMessage: `body` and `raw` (header + body) are set and stay valid until
  // the next call. kError: error() says why; the stream cannot continue.
  Status next(std::string_view& body, std::string_view& raw);
  const std::string& error() const { return error_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  Status fail(std::string why);
  std::string buf_;
  size_t pos_ = 0;  // start of the unconsumed bytes
  std::string error_;
};

std::string encode_frame(std::string_view body);

}  // namespace dlvidx::dap
