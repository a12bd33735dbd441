// The OpenCL plumbing the verifier needs, kept apart so that tests can reach it:
// owning handles, error codes by name, and building a program with its build log.
#pragma once

#include <CL/cl.h>

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace sharegate::opencl {

struct Releaser {
    void operator()(cl_context handle) const { clReleaseContext(handle); }
    void operator()(cl_command_queue handle) const { clReleaseCommandQueue(handle); }
    void operator()(cl_program handle) const { clReleaseProgram(handle); }
    void operator()(cl_kernel handle) const { clReleaseKernel(handle); }
    void operator()(cl_mem handle) const { clReleaseMemObject(handle); }
    void operator()(cl_event handle) const { clReleaseEvent(handle); }
};

template <typename Handle>
using Owned = std::unique_ptr<std::remove_pointer_t<Handle>, Releaser>;

using Context = Owned<cl_context>;
using Queue = Owned<cl_command_queue>;
using Program = Owned<cl_program>;
using Kernel = Owned<cl_kernel>;
using Buffer = Owned<cl_mem>;
using Event = Owned<cl_event>;

// "CL_OUT_OF_RESOURCES (-5)"; unknown codes as "error -1234".
std::string error_name(cl_int code);

// Throws std::runtime_error("opencl: <call> failed: <error_name>") unless code is CL_SUCCESS.
void check(cl_int code, const char* call);

// The program built for the one device; throws std::runtime_error whose message holds
// the first lines of the build log when the compiler refuses the source.
Program build_program(cl_context context, cl_device_id device, std::string_view source, const char* options);

// String properties of a platform or device, without the trailing NUL.
std::string platform_string(cl_platform_id platform, cl_platform_info what);
std::string device_string(cl_device_id device, cl_device_info what);

}  // namespace sharegate::opencl
