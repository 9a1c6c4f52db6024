// The session's life as one explicit state, and the lifetime its components'
// asynchronous operations hold on to.
#pragma once

#include <memory>

namespace dlvidx::dap {

// Where the session is. It only moves forward:
//
//   kStarting ──dlv's port connected──▶ kRunning
//   kStarting, kRunning ──the client's disconnect forwarded──▶ kDisconnecting
//   kStarting, kRunning, kDisconnecting ──shutdown(why)──▶ kClosing
//       (the client closed, dlv died or sent garbage, dlv answered the
//        client's disconnect, the watchdog gave up on disconnect, a signal,
//        a frame or body from the client the session cannot go on from)
//   kClosing ──finish()──▶ kFinishing
//       (dlv answered the shim's own disconnect, or the grace timer ran out)
//   kFinishing ──dlv exited or was stopped──▶ kFinished (sockets closed, io loop stopped)
//
// From kClosing on, nothing new is read from the client and its requests are
// dropped; from kFinishing on, nothing from dlv is relayed either.
enum class Phase { kStarting, kRunning, kDisconnecting, kClosing, kFinishing, kFinished };

class SessionPhase {
 public:
  Phase get() const { return phase_; }
  bool closing() const { return phase_ >= Phase::kClosing; }
  bool finishing() const { return phase_ >= Phase::kFinishing; }
  // Moves forward to `to`; false (and no change) if the session is already there or beyond.
  bool advance(Phase to) {
    if (to <= phase_) return false;
    phase_ = to;
    return true;
  }

 private:
  Phase phase_ = Phase::kStarting;
};

// The session's lifetime, for the asynchronous operations of its components:
// each pending operation holds a strong reference (as the session's own
// handlers do), so no handler runs after the session is gone, and nothing
// holds it once the io loop has dropped its handlers.
class Lifetime {
 public:
  void bind(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
  std::shared_ptr<void> hold() const { return owner_.lock(); }

 private:
  std::weak_ptr<void> owner_;
};

}  // namespace dlvidx::dap
