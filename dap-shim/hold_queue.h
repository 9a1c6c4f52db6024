// Client messages that wait, in order: while the shim is arming breakpoints
// (dlv must not see configurationDone, or continue, before the breakpoints
// that precede it are armed), and -- bounded, 5 s -- a setBreakpoints that
// came while the index was loading, with everything after it.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "dap-shim/breakpoint_table.h"
#include "dap-shim/phase.h"

namespace dlvidx::dap {

inline constexpr std::chrono::seconds kIndexWait{5};

class HoldQueue {
 public:
  using Handle = std::function<void(const std::string& body, const std::string& raw)>;
  // `handle` takes a message out of the queue; `gave_up` runs when the index
  // did not come in time (before the queue drains).
  HoldQueue(boost::asio::io_context& io, const Lifetime& life, spdlog::logger& log,
            const BreakpointTable& arming, Handle handle, std::function<void()> gave_up)
      : io_(io),
        life_(life),
        log_(log),
        arming_(arming),
        handle_(std::move(handle)),
        gave_up_(std::move(gave_up)) {}

  bool holding() const { return arming_.arming() || waiting_for_index_; }
  bool waiting_for_index() const { return waiting_for_index_; }
  bool empty() const { return held_.empty(); }
  void hold(std::string body, std::string raw) {
    held_.emplace_back(std::move(body), std::move(raw));
  }
  // `body` needs the index, which is loading: it goes first, and the queue
  // waits for the index (index_settled) or kIndexWait.
  void wait_for_index(std::string body, std::string raw);
  // A load ended: a wait for it is over.
  void index_settled();
  // Hands the held messages on, in order, while nothing holds them.
  void drain();
  void clear();

 private:
  boost::asio::io_context& io_;
  const Lifetime& life_;
  spdlog::logger& log_;
  const BreakpointTable& arming_;
  Handle handle_;
  std::function<void()> gave_up_;
  std::deque<std::pair<std::string, std::string>> held_;  // (body, raw)
  bool waiting_for_index_ = false;
  std::optional<boost::asio::steady_timer> timer_;
};

}  // namespace dlvidx::dap
