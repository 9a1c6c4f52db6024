// The real `dlv dap`, run as a child on a private loopback address. Found from
// --dlv, $DLVIDX_DLV or PATH, never the shim itself (it may be installed under
// the name dlv). Spawned with posix_spawn: stdin /dev/null, stdout and stderr
// piped to us, every other descriptor closed in the child. Only this PID and
// the processes it started are ever signalled.
//
// Stopping waits for dlv to exit. On the io thread that wait is asio timers
// (stop_async); the blocking stop() is only for the destructor, which runs
// once the io loop has ended (the session is destroyed after io.run()
// returns) -- never on a running io thread.
#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "dap-shim/process_tree.h"

namespace dlvidx::dap {

// Throws dlvidx::Error when there is no usable dlv.
std::string find_dlv(const std::string& flag_value);

class DlvProcess {
 public:
  using Listening =
      std::function<void(const std::string& host, uint16_t port, const std::string& error)>;
  using Line = std::function<void(const std::string& line)>;

  DlvProcess(boost::asio::io_context& io, const std::string& exe,
             const std::vector<std::string>& args);
  ~DlvProcess();

  pid_t pid() const { return pid_; }
  bool running();  // reaps it if it has exited
  std::string describe_exit() const;

  // Reads stdout until "DAP server listening at: HOST:PORT"; later lines and
  // stderr go to `log`.
  void start(Listening on_listening, Line log);
  // SIGTERM, wait up to `grace`, then SIGKILL; also ends dlv's children it
  // leaves. The waits are timers on the io thread; `done` runs when all is over.
  void stop_async(std::chrono::milliseconds grace, std::function<void()> done);

 private:
  // The same, blocking: only off the io thread (the destructor, after the io loop).
  void stop(std::chrono::milliseconds grace);
  void read(boost::asio::posix::stream_descriptor& d, boost::asio::streambuf& b, bool is_stdout);
  void refresh_tree();  // every second while dlv runs, where tree_.wants_refresh()
  // The steps of stopping, shared by stop() and stop_async().
  std::vector<pid_t> terminate();  // SIGTERM; returns what dlv started, seen before it dies
  void end_orphans(const std::vector<pid_t>& kids, std::function<void()> done, int round);
  void poll(std::chrono::steady_clock::time_point deadline, std::vector<pid_t> kids,
            std::function<void()> done);

  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  boost::asio::posix::stream_descriptor out_, err_;
  boost::asio::streambuf out_buf_, err_buf_;
  Listening on_listening_;
  Line log_;
  bool listening_seen_ = false;
  ProcessTree tree_;                         // what dlv started (process_tree.h)
  boost::asio::steady_timer timer_;          // stop_async's waits
  boost::asio::steady_timer refresh_timer_;  // refresh_tree's
};

}  // namespace dlvidx::dap
