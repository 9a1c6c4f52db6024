#include "preload/timer.h"

#include <mutex>
#include <utility>

namespace dlvidx {
namespace {
std::mutex g_mu;
std::vector<PhaseTime> g_phases;
}  // namespace

Timer::Timer(std::string name) : name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}

Timer::~Timer() { stop(); }

double Timer::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
      .count();
}

void Timer::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::lock_guard lk(g_mu);
  g_phases.push_back({name_, elapsed_ms()});
}

std::vector<PhaseTime> Timer::take_all() {
  std::lock_guard lk(g_mu);
  return std::exchange(g_phases, {});
}

}  // namespace dlvidx
