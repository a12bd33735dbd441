// The OpenCL backend: the shared per-share check compiled for one device, fed in
// chunks (planned and packed by the GPU host plan, as for CUDA) that alternate between
// two in-order queues, so that on a GPU the transfers of one chunk overlap the kernel of
// the other.
#include <CL/cl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gpu_host_plan.hpp"
#include "opencl_program.hpp"
#include "sharegate/backends.hpp"
#include "sharegate/device/share_check.h"
#include "verify_shares_source.hpp"

namespace sharegate {

namespace {

using namespace opencl;

// In-order queues the chunks of a batch alternate over: two are enough for one chunk's
// transfers to overlap the other's kernel.
constexpr std::size_t kQueues = 2;
constexpr std::size_t kPreferredGroupSize = 256;
// Chunks are whole preferred work-groups, so that only a batch's last chunk has idle
// work-items.
constexpr std::size_t kChunkGranule = kPreferredGroupSize;
constexpr const char* kBuildOptions = "-cl-std=CL1.2";

// Kernel argument positions, as in verify_shares.cl.
enum Arg : cl_uint { kInput = 7, kTargetTable, kVerdicts, kStride, kEnd };

struct DeviceChoice {
    cl_platform_id platform = nullptr;
    cl_device_id device = nullptr;
};

std::vector<cl_platform_id> platform_ids() {
    cl_uint count = 0;
    const cl_int code = clGetPlatformIDs(0, nullptr, &count);
    // ocl-icd answers CL_PLATFORM_NOT_FOUND_KHR when no ICD is installed.
    if (code == -1001 || (code == CL_SUCCESS && count == 0)) return {};
    check(code, "clGetPlatformIDs");
    std::vector<cl_platform_id> ids(count);
    check(clGetPlatformIDs(count, ids.data(), nullptr), "clGetPlatformIDs");
    return ids;
}

std::vector<cl_device_id> device_ids(cl_platform_id platform, cl_device_type type) {
    cl_uint count = 0;
    const cl_int code = clGetDeviceIDs(platform, type, 0, nullptr, &count);
    if (code == CL_DEVICE_NOT_FOUND || (code == CL_SUCCESS && count == 0)) return {};
    check(code, "clGetDeviceIDs");
    std::vector<cl_device_id> ids(count);
    check(clGetDeviceIDs(platform, type, count, ids.data(), nullptr), "clGetDeviceIDs");
    return ids;
}

std::string plural(std::size_t count, const char* noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// The rule (see README.md): a platform index picks that platform, a device index that
// device among all of the platform's devices; a device index alone counts the devices of
// platform 0; with neither, the first GPU over all platforms, else the first device.
std::variant<DeviceChoice, std::string> choose_device(const VerifierOptions& options) {
    const std::vector<cl_platform_id> platforms = platform_ids();
    if (platforms.empty()) return std::string("opencl: no OpenCL platform (install an ICD such as pocl-opencl-icd)");

    if (options.opencl_platform >= 0 || options.opencl_device >= 0) {
        const auto p = static_cast<std::size_t>(std::max(options.opencl_platform, 0));
        if (p >= platforms.size())
            return "opencl: platform " + std::to_string(p) + " does not exist (this machine has " +
                   std::to_string(platforms.size()) + ")";
        const std::vector<cl_device_id> all = device_ids(platforms[p], CL_DEVICE_TYPE_ALL);
        const std::string where =
            "platform " + std::to_string(p) + " (" + platform_string(platforms[p], CL_PLATFORM_NAME) + ", ";
        if (all.empty()) return "opencl: " + where + "no device)";
        if (options.opencl_device < 0) {
            const std::vector<cl_device_id> gpus = device_ids(platforms[p], CL_DEVICE_TYPE_GPU);
            return DeviceChoice{platforms[p], gpus.empty() ? all.front() : gpus.front()};
        }
        const auto d = static_cast<std::size_t>(options.opencl_device);
        if (d >= all.size())
            return "opencl: device " + std::to_string(d) + " does not exist on " + where +
                   plural(all.size(), "device") + ")";
        return DeviceChoice{platforms[p], all[d]};
    }

    for (cl_platform_id platform : platforms) {
        const std::vector<cl_device_id> gpus = device_ids(platform, CL_DEVICE_TYPE_GPU);
        if (!gpus.empty()) return DeviceChoice{platform, gpus.front()};
    }
    for (cl_platform_id platform : platforms) {
        const std::vector<cl_device_id> all = device_ids(platform, CL_DEVICE_TYPE_ALL);
        if (!all.empty()) return DeviceChoice{platform, all.front()};
    }
    return "opencl: no OpenCL device on any of the " + plural(platforms.size(), "platform");
}

cl_device_type device_type(cl_device_id device) {
    cl_device_type type = 0;
    check(clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, nullptr), "clGetDeviceInfo");
    return type;
}

const char* type_name(cl_device_type type) {
    if ((type & CL_DEVICE_TYPE_GPU) != 0) return "GPU";
    if ((type & CL_DEVICE_TYPE_CPU) != 0) return "CPU";
    if ((type & CL_DEVICE_TYPE_ACCELERATOR) != 0) return "accelerator";
    return "other";
}

Buffer make_buffer(cl_context context, cl_mem_flags flags, std::size_t bytes) {
    cl_int code = CL_SUCCESS;
    Buffer buffer(clCreateBuffer(context, flags, bytes, nullptr, &code));
    check(code, "clCreateBuffer");
    return buffer;
}

// A chunk's buffers on the device: its staged input (gpu_host_plan.hpp's layout) and
// one verdict byte a share, for up to `capacity` shares.
struct DeviceArrays {
    Buffer input, verdicts;
    std::size_t capacity = 0;

    DeviceArrays() = default;
    DeviceArrays(cl_context context, std::size_t shares)
        : input(make_buffer(context, CL_MEM_READ_ONLY, gpu::chunk_input_bytes(shares))),
          verdicts(make_buffer(context, CL_MEM_WRITE_ONLY, shares)),
          capacity(shares) {}
};

// Host memory the driver can copy by DMA without staging it again (pinned on NVIDIA),
// mapped once for the buffer's life.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(cl_context context, cl_command_queue queue, std::size_t bytes)
        : buffer_(make_buffer(context, CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE, bytes)), queue_(queue) {
        cl_int code = CL_SUCCESS;
        host_ = clEnqueueMapBuffer(queue, buffer_.get(), CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, nullptr,
                                   nullptr, &code);
        check(code, "clEnqueueMapBuffer");
    }
    PinnedBuffer(PinnedBuffer&& other) noexcept { *this = std::move(other); }
    PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
        if (this != &other) {
            unmap();
            buffer_ = std::move(other.buffer_);
            queue_ = other.queue_;
            host_ = std::exchange(other.host_, nullptr);
        }
        return *this;
    }
    ~PinnedBuffer() { unmap(); }

    template <typename T>
    T* at(std::size_t byte_offset) const {
        return reinterpret_cast<T*>(static_cast<std::uint8_t*>(host_) + byte_offset);
    }

private:
    void unmap() {
        if (host_ == nullptr) return;
        // Nothing to report to from a destructor; the buffer is released either way.
        if (clEnqueueUnmapMemObject(queue_, buffer_.get(), host_, 0, nullptr, nullptr) == CL_SUCCESS) clFinish(queue_);
        host_ = nullptr;
    }

    Buffer buffer_;
    cl_command_queue queue_ = nullptr;
    void* host_ = nullptr;
};

// One half of the double buffering: a chunk's device arrays, the pinned memory its
// input is gathered into and its verdicts come back to, and the queue that runs it.
struct Slot {
    DeviceArrays device;
    PinnedBuffer input;   // the staged chunk, packed tightly for its share count
    PinnedBuffer output;  // one verdict byte a share
    std::size_t begin = 0;
    std::size_t count = 0;
    bool busy = false;
};

class OpenClVerifier final : public Verifier {
public:
    OpenClVerifier(cl_platform_id platform, cl_device_id device) {
        const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM,
                                                    reinterpret_cast<cl_context_properties>(platform), 0};
        cl_int code = CL_SUCCESS;
        context_.reset(clCreateContext(properties, 1, &device, nullptr, nullptr, &code));
        check(code, "clCreateContext");
        for (std::size_t q = 0; q < kQueues; ++q) {
            // Profiling on the first queue only: kernel_only_seconds times its events.
            queues_[q].reset(
                clCreateCommandQueue(context_.get(), device, q == 0 ? CL_QUEUE_PROFILING_ENABLE : 0, &code));
            check(code, "clCreateCommandQueue");
        }
        program_ = build_program(context_.get(), device, opencl::kVerifySharesSource, kBuildOptions);
        kernel_.reset(clCreateKernel(program_.get(), "sg_verify_shares", &code));
        check(code, "clCreateKernel");
        std::size_t group_limit = 0;
        check(clGetKernelWorkGroupInfo(kernel_.get(), device, CL_KERNEL_WORK_GROUP_SIZE, sizeof group_limit,
                                       &group_limit, nullptr),
              "clGetKernelWorkGroupInfo");
        group_size_ = std::clamp<std::size_t>(group_limit, 1, kPreferredGroupSize);

        cl_uint compute_units = 0;
        check(clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof compute_units, &compute_units, nullptr),
              "clGetDeviceInfo");
        description_ = "opencl: " + platform_string(platform, CL_PLATFORM_NAME) + " / " +
                       device_string(device, CL_DEVICE_NAME) + " (" + type_name(device_type(device)) + ", " +
                       plural(compute_units, "compute unit") + ")";
    }

    ~OpenClVerifier() override {
        for (auto& queue : queues_) clFinish(queue.get());
    }

    std::string_view name() const override { return "opencl"; }
    std::string description() const override { return description_; }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override {
        if (batch.empty()) return;
        const BatchView view = batch.view();
        const gpu::ChunkPlan plan = gpu::plan_chunks(view.size, kQueues, gpu::kMinChunk, gpu::kMaxChunk, kChunkGranule);
        prepare(batch, view);
        reserve_slots(plan.chunk_size);
        try {
            for (std::size_t chunk = 0; chunk < plan.chunk_count; ++chunk) {
                const std::size_t s = chunk % kQueues;
                // The slot's previous chunk must be home before its memory is reused.
                collect(slots_[s], s, verdicts);
                const std::size_t begin = chunk * plan.chunk_size;
                submit(slots_[s], queues_[s].get(), view, begin, std::min(view.size - begin, plan.chunk_size));
            }
            for (std::size_t s = 0; s < kQueues; ++s) collect(slots_[s], s, verdicts);
        } catch (...) {
            for (std::size_t s = 0; s < kQueues; ++s) {
                clFinish(queues_[s].get());
                slots_[s].busy = false;
            }
            throw;
        }
    }

    std::optional<double> do_kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) override {
        if (batch.empty()) return 0.0;
        const BatchView view = batch.view();
        prepare(batch, view);
        // Its own buffers sized to the whole batch, so that one launch covers it; a
        // benchmark's cost, not verify()'s.
        std::vector<std::byte> staged(gpu::chunk_input_bytes(view.size));
        packer_.pack(view, 0, view.size, staged.data());
        DeviceArrays arrays(context_.get(), view.size);
        cl_command_queue queue = queues_[0].get();
        check(clEnqueueWriteBuffer(queue, arrays.input.get(), CL_TRUE, 0, staged.size(), staged.data(), 0, nullptr,
                                   nullptr),
              "clEnqueueWriteBuffer");
        std::vector<double> seconds;
        for (unsigned r = 0; r < std::max(repetitions, 1u); ++r) {
            cl_event raw = nullptr;
            launch(queue, arrays, view.size, &raw);
            const Event event(raw);
            check(clWaitForEvents(1, &raw), "clWaitForEvents");
            cl_ulong start = 0;
            cl_ulong end = 0;
            check(clGetEventProfilingInfo(raw, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr),
                  "clGetEventProfilingInfo");
            check(clGetEventProfilingInfo(raw, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr),
                  "clGetEventProfilingInfo");
            seconds.push_back(static_cast<double>(end - start) * 1e-9);
        }
        return gpu::median(std::move(seconds));
    }

    // The header and the target table, the same for every chunk.
    void prepare(const ShareBatch& batch, const BatchView& view) {
        const sg_batch_header header = sg_make_batch_header(batch.challenge().data(), batch.pool().bytes().data());
        for (cl_uint k = 0; k < 6; ++k) set_arg(k, header.lane[k]);
        set_arg(6, header.pool_tail);
        const std::size_t table_bytes = 4 * sizeof(std::uint64_t) * view.target_count;
        if (table_bytes > target_table_bytes_) {
            target_table_ = make_buffer(context_.get(), CL_MEM_READ_ONLY, table_bytes);
            target_table_bytes_ = table_bytes;
        }
        // Blocking, so that both queues see it without an event between them. The
        // ShareBatch's table is already in the kernels' layout (4 limbs an entry).
        check(clEnqueueWriteBuffer(queues_[0].get(), target_table_.get(), CL_TRUE, 0, table_bytes, view.target_table, 0,
                                   nullptr, nullptr),
              "clEnqueueWriteBuffer");
        set_arg(kTargetTable, target_table_.get());
    }

    void reserve_slots(std::size_t shares) {
        if (shares <= slots_[0].device.capacity) return;
        for (std::size_t s = 0; s < kQueues; ++s) {
            Slot& slot = slots_[s];
            slot = Slot{};  // the old memory goes before the new is allocated
            slot.device = DeviceArrays(context_.get(), shares);
            slot.input = PinnedBuffer(context_.get(), queues_[s].get(), gpu::chunk_input_bytes(shares));
            slot.output = PinnedBuffer(context_.get(), queues_[s].get(), shares);
        }
    }

    // Packs the chunk into the slot's pinned memory and queues its transfer, the kernel
    // and the verdicts' way back, without waiting for any of them.
    void submit(Slot& slot, cl_command_queue queue, const BatchView& view, std::size_t begin, std::size_t count) {
        packer_.pack(view, begin, count, slot.input.at<std::byte>(0));
        slot.begin = begin;
        slot.count = count;
        slot.busy = true;
        check(clEnqueueWriteBuffer(queue, slot.device.input.get(), CL_FALSE, 0, gpu::chunk_input_bytes(count),
                                   slot.input.at<void>(0), 0, nullptr, nullptr),
              "clEnqueueWriteBuffer");
        launch(queue, slot.device, count, nullptr);
        check(clEnqueueReadBuffer(queue, slot.device.verdicts.get(), CL_FALSE, 0, count, slot.output.at<void>(0), 0,
                                  nullptr, nullptr),
              "clEnqueueReadBuffer");
        check(clFlush(queue), "clFlush");
    }

    // Waits for the slot's chunk, if it has one in flight, and copies its verdicts out.
    void collect(Slot& slot, std::size_t queue, std::span<Verdict> verdicts) {
        if (!slot.busy) return;
        check(clFinish(queues_[queue].get()), "clFinish");
        slot.busy = false;
        std::memcpy(verdicts.data() + slot.begin, slot.output.at<void>(0), slot.count);
    }

    // Runs the kernel over the first `count` shares of the arrays, staged tightly for
    // `count` shares (the layout's stride is the chunk's own share count).
    void launch(cl_command_queue queue, const DeviceArrays& arrays, std::size_t count, cl_event* event) {
        set_arg(kInput, arrays.input.get());
        set_arg(kVerdicts, arrays.verdicts.get());
        set_arg(kStride, static_cast<cl_ulong>(count));
        set_arg(kEnd, static_cast<cl_ulong>(count));
        const std::size_t global = (count + group_size_ - 1) / group_size_ * group_size_;
        check(clEnqueueNDRangeKernel(queue, kernel_.get(), 1, nullptr, &global, &group_size_, 0, nullptr, event),
              "clEnqueueNDRangeKernel");
    }

    template <typename T>
    void set_arg(cl_uint index, const T& value) {
        check(clSetKernelArg(kernel_.get(), index, sizeof(T), &value), "clSetKernelArg");
    }

    // Declared in the order they must be made; members go in reverse, buffers first.
    Context context_;
    Queue queues_[kQueues];
    Program program_;
    Kernel kernel_;
    std::size_t group_size_ = 1;
    std::string description_;
    Buffer target_table_;
    std::size_t target_table_bytes_ = 0;
    Slot slots_[kQueues];
    gpu::ChunkPacker packer_;
};

}  // namespace

namespace backends {

VerifierResult make_opencl(const VerifierOptions& options) {
    try {
        auto choice = choose_device(options);
        if (auto* reason = std::get_if<std::string>(&choice)) return VerifierResult::unavailable(std::move(*reason));
        const auto [platform, device] = std::get<DeviceChoice>(choice);
        if (options.opencl_gpu_only && (device_type(device) & CL_DEVICE_TYPE_CPU) != 0)
            return VerifierResult::unavailable("opencl: " + device_string(device, CL_DEVICE_NAME) +
                                               " is a CPU device; the CPU kernels are faster there");
        return VerifierResult::made(std::make_unique<OpenClVerifier>(platform, device));
    } catch (const std::exception& error) {
        // An ICD that answers with an error, a context or queue that cannot be made, a
        // kernel that does not build: the runtime is there but broken, which a machine
        // that merely lacks OpenCL must not be confused with.
        return VerifierResult::failed(error.what());
    }
}

}  // namespace backends

}  // namespace sharegate
