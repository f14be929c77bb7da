// The small part of the NVIDIA Management Library (NVML) C API that NvmlReader calls, declared
// here from NVIDIA's public NVML API reference so that the build never needs nvml.h or the CUDA
// toolkit: the library is found at run time with dlopen and these functions with dlsym.
// Units as NVML reports them: utilization in percent, memory in bytes, power in milliwatts,
// temperature in degrees Celsius.
#pragma once

namespace tenbin::nvml::api {

// nvmlReturn_t, a C enum (int-sized): 0 is success, anything else an error code.
using Return = int;
inline constexpr Return kSuccess = 0;                // NVML_SUCCESS
inline constexpr Return kErrorUninitialized = 1;     // NVML_ERROR_UNINITIALIZED
inline constexpr Return kErrorInvalidArgument = 2;   // NVML_ERROR_INVALID_ARGUMENT
inline constexpr Return kErrorNotSupported = 3;      // NVML_ERROR_NOT_SUPPORTED
inline constexpr Return kErrorInsufficientSize = 7;  // NVML_ERROR_INSUFFICIENT_SIZE
inline constexpr Return kErrorDriverNotLoaded = 9;   // NVML_ERROR_DRIVER_NOT_LOADED

// nvmlDevice_t: an opaque handle owned by the library.
struct DeviceHandle;
using Device = DeviceHandle*;

// nvmlUtilization_t: percent of the last sample period with a kernel running / memory busy.
struct Utilization {
  unsigned int gpu;
  unsigned int memory;
};

// nvmlMemory_t (v1), in bytes; members in the documented order.
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// nvmlTemperatureSensors_t, a C enum: NVML_TEMPERATURE_GPU is the GPU die.
using TemperatureSensor = int;
inline constexpr TemperatureSensor kTemperatureGpu = 0;

// NVML_DEVICE_NAME_V2_BUFFER_SIZE: large enough for any nvmlDeviceGetName result.
inline constexpr unsigned int kDeviceNameBufferSize = 96;

// The C signatures, as function-pointer types for dlsym.
using InitFn = Return (*)();                               // nvmlInit_v2
using ShutdownFn = Return (*)();                           // nvmlShutdown
using DeviceGetCountFn = Return (*)(unsigned int* count);  // nvmlDeviceGetCount_v2
using DeviceGetHandleByIndexFn = Return (*)(unsigned int index, Device* device);  // ..._v2
using DeviceGetNameFn = Return (*)(Device device, char* name, unsigned int length);
using DeviceGetUtilizationRatesFn = Return (*)(Device device, Utilization* utilization);
using DeviceGetMemoryInfoFn = Return (*)(Device device, Memory* memory);
using DeviceGetPowerUsageFn = Return (*)(Device device, unsigned int* milliwatts);
using DeviceGetTemperatureFn = Return (*)(Device device, TemperatureSensor sensor,
                                          unsigned int* celsius);
using ErrorStringFn = const char* (*)(Return result);  // nvmlErrorString

}  // namespace tenbin::nvml::api
