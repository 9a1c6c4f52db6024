// One side of the session: a stream socket, the frames read from it
// (transport.h) and the frames queued for it, written one at a time in
// order. Until the socket is attached (the client has not connected, dlv is
// not listening yet) frames wait in the queue; once closed, frames are dropped.
#pragma once

#include <spdlog/logger.h>

#include <array>
#include <boost/asio.hpp>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "dap-shim/phase.h"
#include "dap-shim/transport.h"

namespace dlvidx::dap {

namespace asio = boost::asio;
using Socket = asio::generic::stream_protocol::socket;

class Connection {
 public:
  struct Reader {
    std::function<void(std::string_view body, std::string_view raw)> message;
    std::function<void(const boost::system::error_code& ec)> closed;  // EOF or a read error
    std::function<void(const std::string& error)> bad_frame;          // the stream cannot go on
    std::function<bool()> more;                                       // read on after a batch?
  };

  // `arrow` marks this side's frames in the trace log ("<--" to the client, "-->" to dlv).
  Connection(asio::io_context& io, const Lifetime& life, spdlog::logger& log,
             std::string_view arrow)
      : socket_(io), life_(life), log_(log), arrow_(arrow) {}

  void attach(Socket s);
  bool attached() const { return attached_; }
  bool queued() const { return !queue_.empty(); }
  // Reads frames until `more` says stop, the peer closes, or a frame is bad.
  void read(Reader r);
  // Queues a whole frame (header + body); written in order once attached.
  void send(std::string frame);
  // No more frames are sent (the peer is gone).
  void mark_closed() { open_ = false; }
  void close();

 private:
  void read_some();
  void write_next();

  Socket socket_;
  const Lifetime& life_;
  spdlog::logger& log_;
  std::string_view arrow_;
  Reader reader_;
  FrameDecoder decoder_;
  std::array<char, 65536> buf_{};
  std::deque<std::string> queue_;
  bool attached_ = false, open_ = true;
  bool writing_ = false;  // a write is in flight
};

}  // namespace dlvidx::dap
