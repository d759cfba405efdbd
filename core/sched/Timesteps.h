#pragma once

// The timestep spacing rules ("leading", "trailing", "linspace"; Table 2 of Lin et al. 2023) as
// each diffusers scheduler family writes them. They differ in small ways (float32 or int64,
// n or n + 1 points, ascending or descending) that change the numbers, so each family has its own.
// "trailing" keeps numpy's arange quirk: for some step counts (61, 103, ...) float rounding
// yields one extra timestep (-1), exactly as diffusers does.

#include "core/sched/SchedulerConfig.h"

#include <cstdint>
#include <vector>

namespace tp::sched {

// Euler, Euler ancestral, LMS: float32 values, descending.
std::vector<double> sigmaFamilyTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset);

// DDIM: int64, descending.
std::vector<int64_t> ddimTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset);

// PNDM's `_timesteps`: int64, ascending (the PLMS order is built from them).
std::vector<int64_t> pndmBaseTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset);

// DPM-Solver multistep: int64, descending, from steps + 1 points below `lastTimestep`.
std::vector<int64_t> dpmTimesteps(TimestepSpacing spacing, int numTrain, int lastTimestep, int steps,
                                  int stepsOffset);

} // namespace tp::sched
