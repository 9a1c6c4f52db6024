#include "dap-shim/transport.h"

#include <fmt/format.h>

#include <charconv>

namespace dlvidx::dap {

namespace {
// Header bytes for an error message: printable ASCII as is, the rest as \xNN
// (never handed to fmt's "{:?}", which asserts on invalid UTF-8 in some builds).
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out + (s.size() > 80 ? "\"..." : "\"");
}
}  // namespace

FrameDecoder::Status FrameDecoder::fail(std::string why) {
  error_ = std::move(why);
  return Status::kError;
}

FrameDecoder::Status FrameDecoder::next(std::string_view& body, std::string_view& raw) {
  if (!error_.empty()) return Status::kError;
  // Drop what the previous message used, keeping the buffer small.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  std::string_view in(buf_.data() + pos_, buf_.size() - pos_);
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // (+3: a terminator that began within the limit may still be arriving.)
    if (in.size() > kMaxHeaderBytes + 3)
      return fail(fmt::format("header longer than {} bytes", kMaxHeaderBytes));
    return Status::kNeedMore;
  }
  if (end > kMaxHeaderBytes)
    return fail(fmt::format("header longer than {} bytes", kMaxHeaderBytes));
  std::string_view header = in.substr(0, end);
  bool have_length = false;
  uint64_t length = 0;
  while (!header.empty()) {
    size_t eol = header.find("\r\n");
    std::string_view field = header.substr(0, eol);
    header = eol == std::string_view::npos ? std::string_view() : header.substr(eol + 2);
    size_t colon = field.find(':');
    if (colon == std::string_view::npos)
      return fail(fmt::format("malformed header field {}", quoted(field)));
    std::string_view name = field.substr(0, colon), value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name != "Content-Length") continue;
    if (have_length) return fail("duplicate Content-Length");
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || p != value.data() + value.size() || value.empty())
      return fail(fmt::format("Content-Length {} is not a non-negative integer", quoted(value)));
    if (length > kMaxMessageBytes)
      return fail(
          fmt::format("Content-Length {} exceeds the {} byte limit", length, kMaxMessageBytes));
    have_length = true;
  }
  if (!have_length) return fail("missing Content-Length");
  size_t total = end + 4 + length;
  if (in.size() < total) return Status::kNeedMore;
  raw = in.substr(0, total);
  body = in.substr(end + 4, length);
  pos_ += total;
  return Status::kMessage;
}

std::string encode_frame(std::string_view body) {
  return fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
}

}  // namespace dlvidx::dap
