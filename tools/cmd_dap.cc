// dlvidx dap: a drop-in for `dlv dap`. Accepts dlv's command line; consumes
// -l/--listen, --client-addr, --log, --log-output, --log-dest and --dlv, and
// passes every other flag to the real dlv (e.g. --check-go-version=false).
// Prints "DAP server listening at: ADDR" where dlv would (the --log-dest file
// or fd, else stdout) and serves one session. Logs never go to stdout.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "dap-shim/dlv_process.h"
#include "dap-shim/session.h"
#include "preload/error.h"
#include "tools/commands.h"

namespace dlvidx::cli {
namespace asio = boost::asio;
using dap::Socket;

namespace {

struct DapArgs {
  std::string listen = "127.0.0.1:0", client_addr, log_output, log_dest, dlv, cache_dir;
  bool log = false;
  int request_timeout = 30;
};

// A sink writing to a FILE* that the shim owns (--log-dest fd or file).
class FileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FileSink(FILE* f) : f_(f) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::fwrite(buf.data(), 1, buf.size(), f_);
  }
  void flush_() override { std::fflush(f_); }

 private:
  FILE* f_;
};

// --log-dest: a file descriptor number or a file path (as dlv).
FILE* open_log_dest(const std::string& dest) {
  if (dest.empty()) return nullptr;
  if (dest.find_first_not_of("0123456789") == std::string::npos) {
    int fd = std::stoi(dest);
    FILE* f = fdopen(fd, "w");
    if (!f) throw Error(fmt::format("--log-dest {}: not an open file descriptor", dest));
    setvbuf(f, nullptr, _IOLBF, 0);
    return f;
  }
  FILE* f = std::fopen(dest.c_str(), "a");
  if (!f) throw Error(fmt::format("--log-dest {}: cannot open: {}", dest, std::strerror(errno)));
  setvbuf(f, nullptr, _IOLBF, 0);
  return f;
}

std::pair<std::string, uint16_t> host_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos)
    throw Error(fmt::format("address {:?}: expected host:port", addr));
  std::string host = addr.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  int port = std::stoi(addr.substr(colon + 1));
  if (port < 0 || port > 65535) throw Error(fmt::format("address {:?}: bad port", addr));
  return {host, static_cast<uint16_t>(port)};
}

// A numeric address (dlv's flags take host:port; "localhost" is mapped above).
asio::ip::address parse_host(const std::string& host, const std::string& flag) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    fail("{}: host {:?} is not a numeric address (use 127.0.0.1, ::1 or localhost)", flag, host);
  return addr;
}

template <typename S>
Socket generic(asio::io_context& io, S& s) {
  auto proto = s.local_endpoint().protocol();
  return Socket(io, asio::generic::stream_protocol(proto.family(), proto.protocol()), s.release());
}

int run(const DapArgs& a, std::vector<std::string> passthrough) {
  FILE* dest = open_log_dest(a.log_dest);
  std::shared_ptr<spdlog::logger> log;
  if (dest)
    log = std::make_shared<spdlog::logger>("dap", std::make_shared<FileSink>(dest));
  else
    log = std::make_shared<spdlog::logger>("dap",
                                           std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l dlvidx: %v");
  log->set_level(a.log ? (a.log_output.find("dap") != std::string::npos ? spdlog::level::trace
                                                                        : spdlog::level::debug)
                       : spdlog::level::warn);
  log->flush_on(spdlog::level::trace);

  dap::ShimOptions opts;
  opts.dlv = dap::find_dlv(a.dlv);
  opts.cache_dir = a.cache_dir;
  opts.request_timeout = std::chrono::seconds(a.request_timeout);
  opts.dlv_args = std::move(passthrough);
  if (a.log) {
    opts.dlv_args.push_back("--log");
    if (!a.log_output.empty()) opts.dlv_args.push_back("--log-output=" + a.log_output);
  }

  asio::io_context io;
  // The client's end first, so that a port in use or a client that is not
  // there is one clear line and no dlv is started for nothing.
  std::optional<asio::ip::tcp::acceptor> tcp;
  std::optional<asio::local::stream_protocol::acceptor> unix_acc;
  std::optional<Socket> dialed;
  std::string shown;
  if (!a.client_addr.empty()) {
    // console: integratedTerminal -- the editor listens and we dial in.
    boost::system::error_code ec;
    if (a.client_addr.starts_with("unix:")) {
      asio::local::stream_protocol::socket s(io);
      if (!s.connect(a.client_addr.substr(5), ec)) dialed.emplace(generic(io, s));
    } else {
      auto [host, port] = host_port(a.client_addr);
      asio::ip::tcp::socket s(io);
      if (!s.connect({parse_host(host, "--client-addr " + a.client_addr), port}, ec))
        dialed.emplace(generic(io, s));
    }
    if (ec) fail("--client-addr {}: cannot connect: {}", a.client_addr, ec.message());
  } else if (a.listen.starts_with("unix:")) {
    shown = a.listen.substr(5);
    ::unlink(shown.c_str());
    boost::system::error_code ec;
    unix_acc.emplace(io);
    if (!unix_acc->open(asio::local::stream_protocol(), ec) &&
        !unix_acc->bind(asio::local::stream_protocol::endpoint(shown), ec))
      unix_acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("--listen {}: cannot listen: {}", a.listen, ec.message());
  } else {
    auto [host, port] = host_port(a.listen);
    auto addr = parse_host(host, "--listen " + a.listen);
    if (!addr.is_loopback())
      log->warn("listening on {}, beyond loopback: connections are not authenticated", host);
    asio::ip::tcp::endpoint want(addr, port);
    boost::system::error_code ec;
    tcp.emplace(io);
    if (!tcp->open(want.protocol(), ec) &&
        !tcp->set_option(asio::socket_base::reuse_address(true), ec) && !tcp->bind(want, ec))
      tcp->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("--listen {}: cannot listen: {}", a.listen, ec.message());
    auto ep = tcp->local_endpoint();
    shown = ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                 : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  // dlv starts now, while the editor connects.
  auto session = dap::Session::create(io, opts, log);
  session->start_dlv();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log->warn("signal {} ({}): shutting down", sig, strsignal(sig));
    session->terminate(fmt::format("dlvidx got signal {} ({})", sig, strsignal(sig)));
  });
  auto begin = [&](Socket s) { session->attach_client(std::move(s)); };

  if (dialed) {
    begin(std::move(*dialed));
  } else {
    std::string line = fmt::format("DAP server listening at: {}\n", shown);
    std::fputs(line.c_str(), dest ? dest : stdout);
    std::fflush(dest ? dest : stdout);
    if (unix_acc) {
      unix_acc->async_accept(
          [&](boost::system::error_code ec, asio::local::stream_protocol::socket s) {
            unix_acc->close();
            if (ec) return io.stop();
            begin(generic(io, s));
          });
    } else {
      tcp->async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
        tcp->close();  // one session, as dlv
        if (ec) return io.stop();
        begin(generic(io, s));
      });
    }
  }
  io.run();
  return session->exit_code();
}

}  // namespace

void setup_dap(CLI::App& app) {
  auto a = std::make_shared<DapArgs>();
  auto* c =
      app.add_subcommand("dap", "Serve DAP like `dlv dap`, resolving breakpoints from the index");
  c->allow_extras();
  c->add_option("-l,--listen", a->listen,
                "address to listen on: host:port or unix:PATH (default 127.0.0.1:0)");
  c->add_option("--client-addr", a->client_addr,
                "dial this DAP client instead of listening (host:port or unix:PATH)");
  c->add_flag("--log", a->log, "enable logging (also passed to dlv)");
  c->add_option("--log-output", a->log_output,
                "dlv's log components, e.g. dap,debugger (also passed to dlv)");
  c->add_option("--log-dest", a->log_dest,
                "where logs and the listening line go: a file descriptor number or a file");
  c->add_option("--dlv", a->dlv,
                "the real dlv (default: $DLVIDX_DLV, else dlv in PATH that is not dlvidx)");
  c->add_option("--cache-dir", a->cache_dir,
                "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->add_option("--request-timeout", a->request_timeout,
                "seconds to wait for dlv's answer to a request before answering it with an error "
                "(default 30; "
                "launch/attach/restart: 900)")
      ->check(CLI::Range(1, 86400));
  c->footer(
      "Flags not listed here are passed to `dlv dap` unchanged (e.g. --check-go-version=false).\n"
      "Examples:\n"
      "  dlvidx dap --listen=127.0.0.1:4711               then point launch.json's debugServer at "
      "4711\n"
      "  dlvidx dap --check-go-version=false -l 127.0.0.1:0 --log-dest=3");
  c->callback([a, c] {
    std::vector<std::string> extra = c->remaining();
    int rc = run(*a, extra);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace dlvidx::cli
