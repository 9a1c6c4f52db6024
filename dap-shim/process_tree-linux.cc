// ProcessTree on Linux: a child subreaper and /proc.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "dap-shim/process_tree.h"

namespace dlvidx::dap {
namespace {

// Direct children of `parent`, from /proc/*/stat.
std::vector<pid_t> children_of(pid_t parent) {
  namespace fs = std::filesystem;
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e :
       fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream st(e.path() / "stat");
    std::string all;
    std::getline(st, all);
    auto rp = all.rfind(')');  // the command name may hold spaces and parentheses
    if (rp == std::string::npos) continue;
    char state;
    int ppid = 0;
    if (sscanf(all.c_str() + rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
      out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace

struct ProcessTree::State {
  pid_t dlv = -1;
  bool subreaper = false;  // PR_SET_CHILD_SUBREAPER took effect
};

ProcessTree::ProcessTree() : s_(std::make_unique<State>()) {}
ProcessTree::~ProcessTree() = default;

void ProcessTree::prepare_spawn(posix_spawnattr_t&, posix_spawn_file_actions_t& fa) {
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // glibc 2.34
  // Orphans of dlv (a debuggee left when dlv dies) are re-parented to the
  // shim, which can then end them.
  s_->subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

void ProcessTree::started(pid_t pid) { s_->dlv = pid; }

// dlv's debuggee is its child (ptrace), and children of those are re-parented
// here if they outlive it.
std::vector<pid_t> ProcessTree::descendants() {
  return s_->dlv > 0 ? children_of(s_->dlv) : std::vector<pid_t>{};
}

// The shim starts no process but dlv, so every child it has once dlv is
// reaped was dlv's.
bool ProcessTree::wants_refresh() const { return false; }

bool ProcessTree::end_leftovers_round() {
  if (!s_->subreaper) return false;
  std::vector<pid_t> mine = children_of(getpid());
  if (mine.empty()) return false;
  for (pid_t k : mine) {
    kill(k, SIGKILL);
    waitpid(k, nullptr, WNOHANG);
  }
  return true;
}

}  // namespace dlvidx::dap
