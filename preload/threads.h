// Worker threads for the index build. The count comes from $DLVIDX_THREADS,
// else the hardware; results never depend on it (each phase splits its work
// into ranges and concatenates the results in order).
#pragma once

#include <cstddef>
#include <functional>

namespace dlvidx {

unsigned worker_threads();
// Runs fn(0..n-1), each on its own thread (the calling thread takes the last);
// rethrows the first exception.
void run_parallel(size_t n, const std::function<void(size_t)>& fn);
// Runs fn(0..n-1) on worker_threads() threads that take the next index as
// they finish (for tasks of uneven size); rethrows the first exception.
void run_tasks(size_t n, const std::function<void(size_t)>& fn);

}  // namespace dlvidx
