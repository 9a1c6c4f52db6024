#include "dap-shim/connection.h"

namespace dlvidx::dap {

void Connection::attach(Socket s) {
  socket_ = std::move(s);
  attached_ = true;
  if (!queue_.empty() && !writing_) write_next();
}

void Connection::read(Reader r) {
  reader_ = std::move(r);
  read_some();
}

void Connection::read_some() {
  auto keep = life_.hold();
  socket_.async_read_some(asio::buffer(buf_), [this, keep](boost::system::error_code ec, size_t n) {
    if (ec) return reader_.closed(ec);
    decoder_.feed({buf_.data(), n});
    std::string_view body, raw;
    for (;;) {
      auto st = decoder_.next(body, raw);
      if (st == FrameDecoder::Status::kNeedMore) break;
      if (st == FrameDecoder::Status::kError) return reader_.bad_frame(decoder_.error());
      reader_.message(body, raw);
    }
    if (reader_.more()) read_some();
  });
}

void Connection::send(std::string frame) {
  if (!open_) return;
  log_.trace("{} {}", arrow_, frame);
  queue_.push_back(std::move(frame));
  if (attached_ && !writing_) write_next();
}

void Connection::write_next() {
  if (queue_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto keep = life_.hold();
  asio::async_write(socket_, asio::buffer(queue_.front()),
                    [this, keep](boost::system::error_code ec, size_t) {
                      queue_.pop_front();
                      if (ec) {
                        writing_ = false;
                        queue_.clear();
                        return;
                      }
                      write_next();
                    });
}

void Connection::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace dlvidx::dap
