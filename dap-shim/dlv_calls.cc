#include "dap-shim/dlv_calls.h"

#include "dap-shim/transport.h"

namespace dlvidx::dap {

void DlvCalls::call(std::string_view command, json::object arguments, Reply reply) {
  int64_t seq = next_seq_++;
  replies_[seq] = std::move(reply);
  if (sent_) sent_(seq, std::string(command));
  dlv_.send(encode_frame(json::serialize(make_request(seq, command, std::move(arguments)))));
}

void DlvCalls::answer(const Envelope& e, const json::object& response) {
  auto it = replies_.find(e.request_seq);
  if (it == replies_.end()) return;
  Reply r = std::move(it->second);
  replies_.erase(it);
  try {
    r(response);
  } catch (const std::exception& ex) {
    log_.error("handling dlv's {} response: {}", e.command, ex.what());
  }
}

}  // namespace dlvidx::dap
