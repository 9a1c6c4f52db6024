// What goes to the client: frames as they came (dlv's, byte for byte) and
// messages the shim writes. A response the shim writes ends its request's
// watchdog entry.
#pragma once

#include <string>

#include "dap-shim/connection.h"
#include "dap-shim/protocol.h"
#include "dap-shim/transport.h"
#include "dap-shim/watchdog.h"

namespace dlvidx::dap {

class ClientOut {
 public:
  ClientOut(Connection& client, RequestWatchdog& watchdog) : client_(client), watchdog_(watchdog) {}
  void send(const json::object& msg) {
    if (auto* t = msg.if_contains("type"); t && t->is_string() && t->as_string() == "response")
      if (auto rs = get_int(msg, "request_seq")) watchdog_.forget(*rs);
    send_raw(encode_frame(json::serialize(msg)));
  }
  void send_raw(std::string frame) { client_.send(std::move(frame)); }

 private:
  Connection& client_;
  RequestWatchdog& watchdog_;
};

}  // namespace dlvidx::dap
