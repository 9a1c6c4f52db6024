#include "dap-shim/dlv_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "preload/error.h"

extern char** environ;

namespace dlvidx::dap {
namespace fs = std::filesystem;

std::string find_dlv(const std::string& flag_value) {
  std::error_code ec;
  fs::path self = fs::canonical("/proc/self/exe", ec);
  auto usable = [&](const fs::path& p, std::string* why) {
    std::error_code e;
    fs::path real = fs::canonical(p, e);
    if (e) return *why = "does not exist", false;
    if (!self.empty() && real == self) return *why = "is dlvidx itself", false;
    if (access(real.c_str(), X_OK) != 0) return *why = "is not executable", false;
    return true;
  };
  std::string why;
  if (!flag_value.empty()) {
    if (!usable(flag_value, &why)) fail("--dlv {}: {}", flag_value, why);
    return flag_value;
  }
  if (const char* env = std::getenv("DLVIDX_DLV"); env && *env) {
    if (!usable(env, &why)) fail("$DLVIDX_DLV={}: {}", env, why);
    return env;
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      fs::path cand = fs::path(dir) / "dlv";
      if (usable(cand, &why)) return cand.string();
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  fail(
      "cannot find the real dlv: not in PATH (other than dlvidx itself); use --dlv PATH or "
      "$DLVIDX_DLV");
}

DlvProcess::DlvProcess(boost::asio::io_context& io, const std::string& exe,
                       const std::vector<std::string>& args)
    : out_(io), err_(io), timer_(io) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    fail("cannot create pipes for dlv: {}", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // nothing else leaks into dlv
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Orphans of dlv (a debuggee left when dlv dies) are re-parented to the
  // shim, which can then end them (end_orphans).
  subreaper_ = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
  int rc = posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    fail("cannot start {}: {}", exe, strerror(rc));
  }
  out_.assign(out[0]);
  err_.assign(err[0]);
}

DlvProcess::~DlvProcess() {
  if (pid_ > 0 && running()) stop(std::chrono::milliseconds(2000));
}

bool DlvProcess::running() {
  if (exited_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = st;
    return false;
  }
  return true;
}

std::string DlvProcess::describe_exit() const {
  if (!exited_) return "still running";
  if (WIFSIGNALED(status_))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status_), strsignal(WTERMSIG(status_)));
  return fmt::format("exited with status {}", WEXITSTATUS(status_));
}

void DlvProcess::start(Listening on_listening, Line log) {
  on_listening_ = std::move(on_listening);
  log_ = std::move(log);
  read(out_, out_buf_, true);
  read(err_, err_buf_, false);
}

void DlvProcess::read(boost::asio::posix::stream_descriptor& d, boost::asio::streambuf& b,
                      bool is_stdout) {
  boost::asio::async_read_until(
      d, b, '\n', [this, &d, &b, is_stdout](boost::system::error_code ec, size_t n) {
        if (ec) {
          if (is_stdout && !listening_seen_ && on_listening_) {
            listening_seen_ = true;
            on_listening_("", 0, "dlv exited before listening");
          }
          return;
        }
        std::string line(boost::asio::buffers_begin(b.data()),
                         boost::asio::buffers_begin(b.data()) + n);
        b.consume(n);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        static const std::regex kListen(
            R"(DAP server listening at: (\[?[0-9a-fA-F.:]+?\]?):([0-9]+))");
        std::smatch m;
        if (is_stdout && !listening_seen_ && std::regex_search(line, m, kListen)) {
          listening_seen_ = true;
          std::string host = m[1];
          if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
          on_listening_(host, static_cast<uint16_t>(std::stoi(m[2])), "");
        } else if (log_) {
          log_(line);
        }
        read(d, b, is_stdout);
      });
}

namespace {
// Direct children of `parent`, from /proc.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e :
       fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream st(e.path() / "stat");
    std::string all;
    std::getline(st, all);
    auto rp = all.rfind(')');
    if (rp == std::string::npos) continue;
    char state;
    int ppid = 0;
    if (sscanf(all.c_str() + rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
      out.push_back(std::stoi(name));
  }
  return out;
}
}  // namespace

std::vector<pid_t> DlvProcess::children() const {
  return pid_ > 0 ? children_of(pid_) : std::vector<pid_t>{};
}

std::vector<pid_t> DlvProcess::terminate() {
  std::vector<pid_t> kids = children();
  kill(pid_, SIGTERM);
  return kids;
}

void DlvProcess::stop(std::chrono::milliseconds grace) {
  std::vector<pid_t> kids;
  if (running()) {
    kids = terminate();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (running()) {
      kill(pid_, SIGKILL);
      while (running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  for (pid_t k : kids)
    if (kill(k, 0) == 0) kill(k, SIGKILL);
  for (int round = 0; round < 50 && end_orphans_round(); round++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void DlvProcess::stop_async(std::chrono::milliseconds grace, std::function<void()> done) {
  if (!running()) return end_orphans({}, std::move(done), 0);
  std::vector<pid_t> kids = terminate();
  poll(std::chrono::steady_clock::now() + grace, std::move(kids), std::move(done));
}

// Every 10 ms until dlv has exited; past the deadline SIGKILL (once), then every 5 ms.
void DlvProcess::poll(std::chrono::steady_clock::time_point deadline, std::vector<pid_t> kids,
                      std::function<void()> done) {
  if (!running()) return end_orphans(kids, std::move(done), 0);
  bool late = std::chrono::steady_clock::now() >= deadline;
  if (late && deadline != std::chrono::steady_clock::time_point::min()) {
    kill(pid_, SIGKILL);
    deadline = std::chrono::steady_clock::time_point::min();  // killed: just wait now
  }
  timer_.expires_after(std::chrono::milliseconds(late ? 5 : 10));
  timer_.async_wait([this, deadline, kids = std::move(kids),
                     done = std::move(done)](boost::system::error_code ec) mutable {
    if (!ec) poll(deadline, std::move(kids), std::move(done));
  });
}

// A debuggee whose tracer died is detached, not killed. The ones dlv started
// were its children, and with the shim a child subreaper they are now the
// shim's children (or, caught before dlv died, `kids`): end those, and only
// those -- the shim starts no other process. Up to 50 rounds, 10 ms apart.
void DlvProcess::end_orphans(const std::vector<pid_t>& kids, std::function<void()> done,
                             int round) {
  if (round == 0)
    for (pid_t k : kids)
      if (kill(k, 0) == 0) kill(k, SIGKILL);
  if (round >= 50 || !end_orphans_round()) return done();
  timer_.expires_after(std::chrono::milliseconds(10));
  timer_.async_wait([this, done = std::move(done), round](boost::system::error_code ec) mutable {
    if (!ec) end_orphans({}, std::move(done), round + 1);
  });
}

bool DlvProcess::end_orphans_round() {
  if (!subreaper_) return false;
  std::vector<pid_t> mine = children_of(getpid());
  if (mine.empty()) return false;
  for (pid_t k : mine) {
    kill(k, SIGKILL);
    waitpid(k, nullptr, WNOHANG);
  }
  return true;
}

}  // namespace dlvidx::dap
