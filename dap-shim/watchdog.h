// The request watchdog: a client request dlv has not answered within the
// timeout gets an error response from the shim (dlv hung or stopped), and
// dlv's late answer to it is dropped. The shim's own requests (seq >=
// kShimSeqBase: arming above all) are on the same clock; their error
// response goes to their reply instead (session.cc). launch/attach/restart, which may build
// the program, get kBuildTimeout. Also knows whether dlv is hung: a request
// timed out and dlv has said nothing since.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "dap-shim/phase.h"
#include "dap-shim/protocol.h"

namespace dlvidx::dap {

inline constexpr std::chrono::seconds kBuildTimeout{900};

class RequestWatchdog {
 public:
  struct Events {
    std::function<void(const json::object& error_response)> timed_out;  // send it to the client
    std::function<void()> disconnect_unanswered;                        // end the session
  };
  RequestWatchdog(boost::asio::io_context& io, const Lifetime& life, const SessionPhase& phase,
                  spdlog::logger& log, std::chrono::seconds timeout, Events events)
      : io_(io),
        life_(life),
        phase_(phase),
        log_(log),
        timeout_(timeout),
        events_(std::move(events)) {}

  // A client request is on the clock from its first sight (held ones too).
  void note_request(int64_t seq, const std::string& command);
  // dlv answered a client request; false if the shim already answered it (timed out).
  bool note_response(int64_t request_seq);
  // The shim answered a client request itself.
  void forget(int64_t request_seq) { outstanding_.erase(request_seq); }
  void heard_from_dlv() { dlv_hung_ = false; }
  bool dlv_hung() const { return dlv_hung_; }
  void cancel() {
    if (timer_) timer_->cancel();
  }

 private:
  void check();
  struct Outstanding {
    std::string command;
    std::chrono::steady_clock::time_point since;
  };
  boost::asio::io_context& io_;
  const Lifetime& life_;
  const SessionPhase& phase_;
  spdlog::logger& log_;
  std::chrono::seconds timeout_;
  Events events_;
  std::map<int64_t, Outstanding> outstanding_;  // client request seq -> what and since when
  std::set<int64_t> timed_out_;  // answered by the shim; dlv's late answer is dropped
  std::optional<boost::asio::steady_timer> timer_;  // made with the first request
  bool dlv_hung_ = false;
};

}  // namespace dlvidx::dap
