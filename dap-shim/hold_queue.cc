#include "dap-shim/hold_queue.h"

namespace dlvidx::dap {

void HoldQueue::wait_for_index(std::string body, std::string raw) {
  waiting_for_index_ = true;
  held_.emplace_front(std::move(body), std::move(raw));
  if (!timer_) timer_.emplace(io_);
  timer_->expires_after(kIndexWait);
  auto keep = life_.hold();
  timer_->async_wait([this, keep](boost::system::error_code ec) {
    if (ec || !waiting_for_index_) return;
    log_.warn("index: not ready after 5 s; breakpoints go to dlv meanwhile");
    waiting_for_index_ = false;
    gave_up_();
    drain();
  });
}

void HoldQueue::index_settled() {
  bool was_waiting = std::exchange(waiting_for_index_, false);
  if (timer_) timer_->cancel();
  if (was_waiting) drain();
}

void HoldQueue::drain() {
  while (!held_.empty() && !holding()) {
    auto [body, raw] = std::move(held_.front());
    held_.pop_front();
    handle_(body, raw);
  }
}

void HoldQueue::clear() {
  held_.clear();
  waiting_for_index_ = false;
  if (timer_) timer_->cancel();
}

}  // namespace dlvidx::dap
