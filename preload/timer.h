// Timer: one per phase (mold style). Each finished phase is recorded in a
// process-wide list that `dlvidx build` prints as its timing table.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace dlvidx {

struct PhaseTime {
  std::string name;
  double ms;
};

class Timer {
 public:
  explicit Timer(std::string name);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  double elapsed_ms() const;
  void stop();

  static std::vector<PhaseTime> take_all();  // returns and clears the record

 private:
  std::string name_;
  std::chrono::steady_clock::time_point start_;
  bool stopped_ = false;
};

}  // namespace dlvidx
