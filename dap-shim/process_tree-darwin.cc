// ProcessTree on macOS: dlv in a process group of its own, its descendants
// found with proc_listchildpids and watched with kqueue EVFILT_PROC.
// Not compiled or run here (no macOS on the development machines): written
// from Apple's man pages (posix_spawnattr_setflags(3), kqueue(2), libproc.h);
// .github/workflows/macos.yml builds it and runs the shim's sessions.
#include <libproc.h>
#include <signal.h>
#include <sys/event.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "dap-shim/process_tree.h"

namespace dlvidx::dap {

struct ProcessTree::State {
  pid_t dlv = -1;
  int kq = -1;
  std::set<pid_t> watched;  // alive when last seen: a NOTE_EXIT is registered for each

  // Registers NOTE_EXIT for pid: from now on its exit is reported on kq even
  // once its PID is reused. False if it has already gone.
  bool watch(pid_t pid) {
    if (watched.count(pid)) return true;
    struct kevent ev;
    EV_SET(&ev, static_cast<uintptr_t>(pid), EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0,
           nullptr);
    if (kq < 0 || kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) return false;  // ESRCH: gone
    watched.insert(pid);
    return true;
  }
  // Forgets the watched processes that have exited since the last call.
  void drain() {
    if (kq < 0) return;
    struct kevent evs[64];
    const struct timespec now = {0, 0};
    int n;
    while ((n = kevent(kq, nullptr, 0, evs, 64, &now)) > 0)
      for (int i = 0; i < n; i++) watched.erase(static_cast<pid_t>(evs[i].ident));
  }
};

ProcessTree::ProcessTree() : s_(std::make_unique<State>()) { s_->kq = kqueue(); }
ProcessTree::~ProcessTree() {
  if (s_->kq >= 0) close(s_->kq);
}

void ProcessTree::prepare_spawn(posix_spawnattr_t& attr, posix_spawn_file_actions_t&) {
  // CLOEXEC_DEFAULT: only the descriptors the file actions name (0, 1, 2)
  // reach dlv. SETPGROUP with group 0: dlv leads a new group, which
  // end_leftovers_round can signal as a whole once dlv is gone (a group's ID is
  // not reused while any member lives).
  posix_spawnattr_setflags(&attr,
                           static_cast<short>(POSIX_SPAWN_CLOEXEC_DEFAULT | POSIX_SPAWN_SETPGROUP));
  posix_spawnattr_setpgroup(&attr, 0);
}

void ProcessTree::started(pid_t pid) {
  s_->dlv = pid;
  s_->watch(pid);
}

// dlv's children, theirs, and so on (debugserver, the debuggee, what it
// forked), each watched from here on.
std::vector<pid_t> ProcessTree::descendants() {
  std::vector<pid_t> out;
  if (s_->dlv <= 0) return out;
  std::vector<pid_t> todo{s_->dlv};
  std::set<pid_t> seen{s_->dlv};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    pid_t kids[1024];
    int n = proc_listchildpids(p, kids, sizeof kids);  // a count of PIDs, or -1
    for (int i = 0; i < n && i < 1024; i++) {
      if (kids[i] <= 0 || !seen.insert(kids[i]).second) continue;
      if (s_->watch(kids[i])) out.push_back(kids[i]);
      todo.push_back(kids[i]);
    }
  }
  return out;
}

bool ProcessTree::wants_refresh() const { return true; }

bool ProcessTree::end_leftovers_round() {
  s_->drain();
  s_->watched.erase(s_->dlv);                               // reaped by DlvProcess
  bool any = s_->dlv > 0 && killpg(s_->dlv, SIGKILL) == 0;  // ESRCH: the group is empty
  for (pid_t p : s_->watched)
    if (kill(p, SIGKILL) == 0) any = true;
  return any;
}

}  // namespace dlvidx::dap
