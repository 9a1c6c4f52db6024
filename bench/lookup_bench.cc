// Lookup latency micro-benchmark (not a test): opens a binary's index (building
// it first if needed) and times find_file_location for random present keys
// (lines with code) and random absent keys (lines without code, of files the
// binary has). Each lookup is timed on its own with the steady clock; the
// clock's own cost, measured the same way, is subtracted. Prints JSON.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "index/build.h"

using namespace dlvidx;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
  double p50, p99, max, mean;
};

Stats stats(std::vector<double> v, double overhead) {
  for (double& x : v) x = std::max(0.0, x - overhead);
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  return {v[v.size() / 2], v[v.size() * 99 / 100], v.back(), sum / v.size()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: dlvidx_lookup_bench BINARY [CACHE_DIR] [N]\n");
    return 2;
  }
  index::BuildOptions o;
  if (argc > 2) o.cache_dir = argv[2];
  size_t n = argc > 3 ? std::stoul(argv[3]) : 200000;
  try {
    index::IndexHandle h = index::open_index(argv[1], o);
    const index::IndexView& v = h.view();
    std::mt19937_64 rng(12345);
    struct Key {
      uint32_t file, line;
    };
    std::vector<Key> present, absent;
    std::vector<uint32_t> files;
    for (uint32_t f = 0; f < v.n_files(); f++) {
      auto lines = v.lines_with_code(f, 0, UINT32_MAX);
      if (lines.empty()) continue;
      files.push_back(f);
      for (uint32_t l : lines) present.push_back({f, l});
      for (uint32_t l = lines.front(); l <= lines.back() + 10; l++)
        if (!std::binary_search(lines.begin(), lines.end(), l)) absent.push_back({f, l});
    }
    auto sample = [&](const std::vector<Key>& from) {
      std::vector<Key> out(n);
      for (auto& k : out) k = from[rng() % from.size()];
      return out;
    };
    std::vector<Key> qp = sample(present), qa = sample(absent);

    // The clock's own cost per measurement.
    std::vector<double> empty(n);
    for (size_t i = 0; i < n; i++) {
      auto t0 = Clock::now();
      auto t1 = Clock::now();
      empty[i] = std::chrono::duration<double, std::nano>(t1 - t0).count();
    }
    std::sort(empty.begin(), empty.end());
    double overhead = empty[n / 2];

    uint64_t sink = 0;
    auto run = [&](const std::vector<Key>& q) {
      std::vector<double> t(q.size());
      for (size_t i = 0; i < q.size(); i++) {
        auto t0 = Clock::now();
        index::Location loc = v.find_file_location(q[i].file, q[i].line);
        sink += loc.pcs.size() ? loc.pcs[0] : static_cast<uint64_t>(loc.status);
        auto t1 = Clock::now();
        t[i] = std::chrono::duration<double, std::nano>(t1 - t0).count();
      }
      return t;
    };
    run(qp);  // warm up
    Stats sp = stats(run(qp), overhead), sa = stats(run(qa), overhead);
    // Batch throughput, no per-lookup clock.
    auto b0 = Clock::now();
    for (const Key& k : qp) sink += v.find_file_location(k.file, k.line).pcs.size();
    double batch = std::chrono::duration<double, std::nano>(Clock::now() - b0).count() / qp.size();

    fmt::print(
        "{{\"binary\":\"{}\",\"keys\":{},\"files\":{},\"n\":{},\"clock_overhead_ns\":{:.1f},"
        "\"present\":{{\"p50_ns\":{:.1f},\"p99_ns\":{:.1f},\"max_ns\":{:.1f},\"mean_ns\":{:.1f}}},"
        "\"absent\":{{\"p50_ns\":{:.1f},\"p99_ns\":{:.1f},\"max_ns\":{:.1f},\"mean_ns\":{:.1f}}},"
        "\"batch_ns\":{:.1f},\"sink\":{}}}\n",
        argv[1], v.header().n_keys, v.n_files(), n, overhead, sp.p50, sp.p99, sp.max, sp.mean,
        sa.p50, sa.p99, sa.max, sa.mean, batch, sink % 10);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dlvidx_lookup_bench: {}\n", e.what());
    return 1;
  }
}
