// The real `dlv dap`, run as a child on a private loopback address. Found from
// --dlv, $DLVIDX_DLV or PATH, never the shim itself (it may be installed under
// the name dlv). Spawned with posix_spawn: stdin /dev/null, stdout and stderr
// piped to us, every other descriptor closed in the child. Only this PID and
// the processes it started are ever signalled.
#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <functional>
#include <string>
#include <vector>

namespace dlvidx::dap {

// Throws dlvidx::Error when there is no usable dlv.
std::string find_dlv(const std::string& flag_value);

class DlvProcess {
 public:
  using Listening = std::function<void(const std::string& host, uint16_t port, const std::string& error)>;
  using Line = std::function<void(const std::string& line)>;

  DlvProcess(boost::asio::io_context& io, const std::string& exe, const std::vector<std::string>& args);
  ~DlvProcess();

  pid_t pid() const { return pid_; }
  bool running();                   // reaps it if it has exited
  int exit_status() const { return status_; }  // waitpid status, valid once !running()
  std::string describe_exit() const;

  // Reads stdout until "DAP server listening at: HOST:PORT"; later lines and
  // stderr go to `log`.
  void start(Listening on_listening, Line log);
  // Processes whose parent is dlv (the debuggee), for cleanup.
  std::vector<pid_t> children() const;
  // SIGTERM, wait up to `grace`, then SIGKILL; also ends dlv's children it leaves.
  void stop(std::chrono::milliseconds grace);

 private:
  void read(boost::asio::posix::stream_descriptor& d, boost::asio::streambuf& b, bool is_stdout);
  void end_orphans(const std::vector<pid_t>& kids);

  boost::asio::io_context& io_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  boost::asio::posix::stream_descriptor out_, err_;
  boost::asio::streambuf out_buf_, err_buf_;
  Listening on_listening_;
  Line log_;
  bool listening_seen_ = false;
  bool subreaper_ = false;  // PR_SET_CHILD_SUBREAPER took effect
};

}  // namespace dlvidx::dap
