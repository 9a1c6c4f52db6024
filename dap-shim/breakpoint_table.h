// The breakpoints of the sources the shim manages: each requested line
// resolved through the index (index/snap.h), given a shim id that is stable
// while the line stays set, and armed -- the union of all of them plus the
// client's own instruction breakpoints -- through dlv's
// setInstructionBreakpoints, one arming at a time (the arming queue: what is
// asked while one is with dlv waits for the next, and however many asked, that
// next arming is one request). Knows which dlv breakpoint ids stand for which
// shim ids, and which sources dlv holds breakpoints for itself. A breakpoint
// the client was told about and that dlv's arming then changed (dlv refused
// an address) is reported through `changed`: a breakpoint event.
#pragma once

#include <spdlog/logger.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dap-shim/dlv_calls.h"
#include "dap-shim/index_loader.h"
#include "dap-shim/protocol_requests.h"

namespace dlvidx::dap {

// A breakpoint of a source the shim manages.
struct ShimBreakpoint {
  int64_t id = 0;  // the shim's id, stable while the line stays set
  int64_t requested_line = 0;
  int64_t line = 0;           // where it is armed (after snapping)
  std::string message;        // "moved from line N: ...", or why it is not bound
  std::string warning;        // bound, but maybe at the wrong line (source newer than binary)
  std::vector<uint64_t> pcs;  // runtime addresses
  std::string condition, hitCondition;
  std::string refused;                // dlv's reason when its last arming refused the address
  bool verified = false;              // armed, or (before dlv answered) the index can arm it
  std::optional<bool> told_verified;  // what the client was last told, once it was
};

struct ManagedSource {
  Source source;            // the client's Source, echoed back
  json::value breakpoints;  // the client's SourceBreakpoints, as sent
  std::vector<ShimBreakpoint> bps;
  uint64_t generation = 0;  // which setBreakpoints this is (an arming's answer is for one)
};

// The DAP Breakpoint the client is told for `bp`: in a setBreakpoints answer or a breakpoint event.
Breakpoint to_breakpoint(const ManagedSource& src, const ShimBreakpoint& bp);

class BreakpointTable {
 public:
  using Armed = std::function<void(const json::object& response)>;
  using Changed = std::function<void(const ManagedSource&, const ShimBreakpoint&)>;
  // `idle` runs whenever the arming queue has emptied; `changed` for each
  // breakpoint whose verified state the client was told and an arming changed.
  BreakpointTable(DlvCalls& dlv, IndexLoader& index, spdlog::logger& log,
                  std::function<void()> idle, Changed changed)
      : dlv_(dlv), index_(index), log_(log), idle_(std::move(idle)), changed_(std::move(changed)) {}

  // dlv advertised supportsInstructionBreakpoints (Delve >= 1.20): without it
  // the shim arms nothing.
  void set_dlv_can_arm(bool can) { dlv_can_arm_ = can; }
  bool dlv_can_arm() const { return dlv_can_arm_; }

  // A requested line of a source that maps to the index, resolved (no id yet).
  ShimBreakpoint resolve(const std::string& client_path, const SourceBreakpoint& want);
  // True the first time this breakpoint is reported with this message (logged once).
  bool first_report(const std::string& path, int64_t line, const std::string& message);
  // A setBreakpoints the shim forwarded to dlv, so that its answer can say why lines did not bind.
  struct Forwarded {
    std::string path;
    std::vector<int64_t> lines;
  };
  void forwarded(int64_t seq, std::string path, std::vector<int64_t> lines);
  std::optional<Forwarded> take_forwarded(int64_t seq);
  // The shim id of a requested line: the same for as long as the session lasts.
  int64_t id_for(const std::string& path, int64_t requested_line);
  // The shim manages `path` from now on (dlv's own breakpoints there are cleared first).
  void manage(const std::string& path, ManagedSource src);
  const ManagedSource* source(const std::string& path) const;
  // The client has been told `path`'s breakpoints as they stand now.
  void told(const std::string& path);
  bool empty() const { return sources_.empty(); }
  // Stops managing a source (its requests go to dlv again); re-arms if needed.
  void release(const std::string& path);
  // Whether dlv holds breakpoints of its own for `path`.
  void set_dlv_holds(const std::string& path, bool holds);
  // restart: every managed source goes back to dlv's own setBreakpoints.
  void hand_back_to_dlv(spdlog::logger& log);
  void set_client_instruction(std::vector<InstructionBreakpoint> bps) {
    client_instruction_ = std::move(bps);
  }
  const std::vector<InstructionBreakpoint>& client_instruction() const {
    return client_instruction_;
  }

  // Arms the union; `done` runs with dlv's answer. One arming at a time: while
  // one is with dlv, every rearm waits for the next, which arms them all at once.
  void rearm(Armed done);
  // The same, for a client request answered only once dlv has armed it: until
  // then a later setBreakpoints must not overtake it (answer_pending()).
  void rearm_then_answer(Armed done);
  bool answer_pending() const { return pending_answers_ > 0; }
  // How many setInstructionBreakpoints the shim has sent (the coalescing, observable in the log).
  uint64_t armings() const { return armings_; }
  bool arming() const { return arming_; }
  void clear_queue() { queue_.clear(); }

  // The shim ids a dlv breakpoint id stands for (empty: not the shim's).
  const std::vector<int64_t>* shim_ids(int64_t dlv_id) const;
  // The managed breakpoint with shim id `id`, and its source.
  std::pair<const ManagedSource*, const ShimBreakpoint*> find(int64_t id) const;

 private:
  // One union entry's owners: (path, the source's generation, bp index).
  using Owners = std::vector<std::vector<std::tuple<std::string, uint64_t, size_t>>>;
  void run_queue();
  void armed(const json::object& resp, size_t n_client, const Owners& owners,
             const std::map<std::string, uint64_t>& armed_sources);

  DlvCalls& dlv_;
  IndexLoader& index_;
  spdlog::logger& log_;
  std::function<void()> idle_;
  Changed changed_;
  bool dlv_can_arm_ = false;
  std::map<std::string, ManagedSource> sources_;  // client path -> managed source
  std::set<std::string> dlv_sources_;             // client paths dlv holds breakpoints for
  std::set<std::tuple<std::string, int64_t, std::string>> reported_;  // logged once
  std::map<int64_t, Forwarded> forwarded_;                 // seq -> forwarded setBreakpoints
  std::vector<InstructionBreakpoint> client_instruction_;  // the client's own
  std::unordered_map<int64_t, std::vector<int64_t>> dlv_to_shim_;  // dlv bp id -> shim ids
  std::map<std::pair<std::string, int64_t>, int64_t> ids_;  // (path, requested line) -> shim id
  int64_t next_id_ = 1'000'000;
  std::deque<Armed> queue_;       // waiting for the next arming
  std::vector<Armed> in_flight_;  // answered by the arming with dlv
  bool arming_ = false;           // a setInstructionBreakpoints of the shim's is with dlv
  uint64_t next_generation_ = 1;
  uint64_t armings_ = 0;
  int pending_answers_ = 0;
};

}  // namespace dlvidx::dap
