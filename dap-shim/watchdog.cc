#include "dap-shim/watchdog.h"

namespace dlvidx::dap {

void RequestWatchdog::note_request(int64_t seq, const std::string& command) {
  outstanding_.try_emplace(seq, Outstanding{command, std::chrono::steady_clock::now()});
  if (timer_) return;
  timer_.emplace(io_);
  check();
}

bool RequestWatchdog::note_response(int64_t request_seq) {
  if (request_seq < 0) return true;
  if (timed_out_.erase(request_seq)) {
    log_.warn("dlv answered request {} after the shim had answered it (timed out); dropped",
              request_seq);
    return false;
  }
  outstanding_.erase(request_seq);
  return true;
}

void RequestWatchdog::check() {
  if (phase_.closing()) return;
  auto now = std::chrono::steady_clock::now();
  bool end = false;
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    auto& [seq, o] = *it;
    bool build = o.command == "launch" || o.command == "attach" || o.command == "restart";
    auto limit = build ? std::max(timeout_, kBuildTimeout) : timeout_;
    if (now - o.since < limit) {
      ++it;
      continue;
    }
    std::string text = fmt::format("dlv did not answer {} within {} s", o.command,
                                   std::chrono::duration_cast<std::chrono::seconds>(limit).count());
    log_.error("request {}: {}", seq, text);
    json::object resp = make_error_response(seq, o.command, text);
    timed_out_.insert(seq);
    dlv_hung_ = true;  // until dlv says anything again
    end = end || (o.command == "disconnect" && seq < kShimSeqBase);
    it = outstanding_.erase(it);
    events_.timed_out(resp);
  }
  if (end) return events_.disconnect_unanswered();
  auto keep = life_.hold();
  timer_->expires_after(std::min<std::chrono::steady_clock::duration>(
      timeout_ / 4 + std::chrono::milliseconds(1), std::chrono::seconds(1)));
  timer_->async_wait([this, keep](boost::system::error_code ec) {
    if (!ec) check();
  });
}

}  // namespace dlvidx::dap
