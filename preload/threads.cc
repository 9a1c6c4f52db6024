#include "preload/threads.h"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dlvidx {

unsigned worker_threads() {
  if (const char* e = std::getenv("DLVIDX_THREADS")) {
    int n = std::atoi(e);
    if (n >= 1 && n <= 256) return static_cast<unsigned>(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? std::min(hw, 8u) : 1;
}

void run_parallel(size_t n, const std::function<void(size_t)>& fn) {
  std::exception_ptr first;
  std::mutex mu;
  auto guarded = [&](size_t k) {
    try {
      fn(k);
    } catch (...) {
      std::lock_guard lk(mu);
      if (!first) first = std::current_exception();
    }
  };
  std::vector<std::thread> ts;
  for (size_t k = 0; k + 1 < n; k++) ts.emplace_back(guarded, k);
  if (n) guarded(n - 1);
  for (auto& t : ts) t.join();
  if (first) std::rethrow_exception(first);
}

void run_tasks(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  size_t nt = std::min<size_t>(n, worker_threads());
  run_parallel(nt, [&](size_t) {
    for (size_t k; (k = next.fetch_add(1)) < n;) fn(k);
  });
}

}  // namespace dlvidx
