// Requests the shim sends dlv itself (arming, the load bias, handing sources
// back): numbered from kShimSeqBase up, so their responses are told apart
// from the client's and stay here.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dap-shim/connection.h"
#include "dap-shim/protocol.h"

namespace dlvidx::dap {

class DlvCalls {
 public:
  using Reply = std::function<void(const json::object& response)>;
  using Sent = std::function<void(int64_t seq, const std::string& command)>;
  // `sent` sees each request as it goes (the watchdog's clock).
  DlvCalls(Connection& dlv, spdlog::logger& log, Sent sent = {})
      : dlv_(dlv), log_(log), sent_(std::move(sent)) {}

  // `reply` runs with dlv's response, on the io thread.
  void call(std::string_view command, json::object arguments, Reply reply);
  // A response to one of the shim's requests (e.request_seq >= kShimSeqBase):
  // runs its reply; an exception there is logged, never propagated.
  void answer(const Envelope& e, const json::object& response);
  // Replies dlv will never send (the session is ending).
  void clear() { replies_.clear(); }

 private:
  Connection& dlv_;
  spdlog::logger& log_;
  Sent sent_;
  int64_t next_seq_ = kShimSeqBase;
  std::unordered_map<int64_t, Reply> replies_;
};

}  // namespace dlvidx::dap
