// The SIMT emulator's cuda_runtime.h: the runtime API (cuda_runtime_api.h); the device-side
// builtins come from cuda_emu/device.h, which the emulated build includes before each .cu file.
#pragma once

#include <cuda_runtime_api.h>
