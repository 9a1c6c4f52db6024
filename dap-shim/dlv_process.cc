#include "dap-shim/dlv_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "preload/error.h"
#include "preload/platform.h"

extern char** environ;

namespace dlvidx::dap {
namespace fs = std::filesystem;

std::string find_dlv(const std::string& flag_value) {
  const fs::path self = platform::self_executable();
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
    : out_(io), err_(io), timer_(io), refresh_timer_(io) {
  int out[2], err[2];
  if (platform::pipe_cloexec(out) != 0 || platform::pipe_cloexec(err) != 0)
    fail("cannot create pipes for dlv: {}", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  tree_.prepare_spawn(attr, fa);  // nothing else leaks into dlv
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, exe.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    fail("cannot start {}: {}", exe, strerror(rc));
  }
  tree_.started(pid_);
  out_.assign(out[0]);
  err_.assign(err[0]);
  if (tree_.wants_refresh()) refresh_tree();
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

void DlvProcess::refresh_tree() {
  refresh_timer_.expires_after(std::chrono::seconds(1));
  refresh_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running()) return;
    tree_.descendants();
    refresh_tree();
  });
}

std::vector<pid_t> DlvProcess::terminate() {
  refresh_timer_.cancel();
  std::vector<pid_t> kids = tree_.descendants();
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
  for (int round = 0; round < 50 && tree_.end_leftovers_round(); round++)
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

// A debuggee whose tracer died is detached, not killed: end what dlv started
// (`kids`, seen before it died, and what tree_ still finds), and only that.
// Up to 50 rounds, 10 ms apart.
void DlvProcess::end_orphans(const std::vector<pid_t>& kids, std::function<void()> done,
                             int round) {
  if (round == 0)
    for (pid_t k : kids)
      if (kill(k, 0) == 0) kill(k, SIGKILL);
  if (round >= 50 || !tree_.end_leftovers_round()) return done();
  timer_.expires_after(std::chrono::milliseconds(10));
  timer_.async_wait([this, done = std::move(done), round](boost::system::error_code ec) mutable {
    if (!ec) end_orphans({}, std::move(done), round + 1);
  });
}

}  // namespace dlvidx::dap
