// What the shim does, per OS, to start dlv and to end what dlv leaves
// behind (process_tree-linux.cc, process_tree-darwin.cc). A debuggee whose
// tracer died is detached, not killed, so the shim ends it -- only ever a
// process dlv started:
//  - Linux: the shim is a child subreaper (PR_SET_CHILD_SUBREAPER), so dlv's
//    orphans become its children; dlv's children are read from /proc.
//  - macOS: dlv leads a process group of its own, and its descendants (dlv
//    starts debugserver, which starts the debuggee, each in a group of its
//    own) are found with proc_listchildpids while dlv lives and watched with
//    kqueue EVFILT_PROC, so a PID is never signalled after its process ended.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <memory>
#include <vector>

namespace dlvidx::dap {

class ProcessTree {
 public:
  ProcessTree();
  ~ProcessTree();
  ProcessTree(const ProcessTree&) = delete;
  ProcessTree& operator=(const ProcessTree&) = delete;

  // Before posix_spawn: every descriptor but 0, 1 and 2 closed in the child
  // (posix_spawn_file_actions_addclosefrom_np; POSIX_SPAWN_CLOEXEC_DEFAULT).
  void prepare_spawn(posix_spawnattr_t& attr, posix_spawn_file_actions_t& fa);
  // After a successful posix_spawn of dlv as `pid`.
  void started(pid_t pid);
  // The processes dlv started that are alive now (seen before it is told to
  // stop, so they can be ended after it is gone).
  std::vector<pid_t> descendants();
  // Whether descendants() should be called now and then while dlv runs (so
  // that a dlv that dies unasked still leaves its debuggee known): macOS,
  // where nothing else finds them once they are orphans.
  bool wants_refresh() const;
  // Once dlv has exited: SIGKILL what is left of what it started. True if
  // something was signalled (call again, after a pause), false when nothing
  // is left.
  bool end_leftovers_round();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace dlvidx::dap
