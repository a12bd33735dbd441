// The CUDA backend: a chunked pipeline over a few streams, with pinned staging and
// device buffers that grow with the largest chunk seen and are otherwise reused.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "check_kernel.cuh"
#include "gpu_host_plan.hpp"
#include "sharegate/backends.hpp"

namespace sharegate {

namespace cuda {

namespace {

using gpu::chunk_input_bytes;
using gpu::ChunkPlan;
using gpu::pack_target_table;
using gpu::plan_chunks;
using gpu::table_region_bytes;

// The streams a batch's chunks rotate over.
constexpr unsigned kStreams = 4;

// What the first stream holds from the start, so that the server's 4096-share batches
// never allocate.
constexpr std::size_t kInitialShares = std::size_t{1} << 13;
constexpr std::size_t kInitialTargets = 64;

std::string describe(cudaError_t status) {
    return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

// A failed CUDA call. An allocation failure leaves the verifier usable (the buffer is
// simply missing); anything else may have left the device or the pipeline in an unknown
// state.
class CudaError : public std::runtime_error {
public:
    CudaError(cudaError_t status, const char* call)
        : std::runtime_error(std::string("cuda: ") + call + " failed: " + describe(status)), status_(status) {}
    cudaError_t status() const { return status_; }

private:
    cudaError_t status_;
};

void check(cudaError_t status, const char* call) {
    if (status != cudaSuccess) throw CudaError(status, call);
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

// Deleters never throw: they run in destructors and while an exception unwinds.
struct DeviceFree {
    void operator()(std::byte* p) const noexcept { cudaFree(p); }
};
struct PinnedFree {
    void operator()(std::byte* p) const noexcept { cudaFreeHost(p); }
};
struct StreamDestroy {
    void operator()(cudaStream_t s) const noexcept { cudaStreamDestroy(s); }
};
struct EventDestroy {
    void operator()(cudaEvent_t e) const noexcept { cudaEventDestroy(e); }
};
using DeviceBuffer = std::unique_ptr<std::byte, DeviceFree>;
using PinnedBuffer = std::unique_ptr<std::byte, PinnedFree>;
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;

DeviceBuffer device_alloc(std::size_t bytes) {
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc");
    return DeviceBuffer(static_cast<std::byte*>(p));
}

PinnedBuffer pinned_alloc(std::size_t bytes) {
    void* p = nullptr;
    check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), "cudaHostAlloc");
    return PinnedBuffer(static_cast<std::byte*>(p));
}

Stream make_stream() {
    cudaStream_t s = nullptr;
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    return Stream(s);
}

Event make_event(bool timing) {
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming), "cudaEventCreateWithFlags");
    return Event(e);
}

// Grown by half again over what is needed, so that slowly growing batches do not
// reallocate every time.
std::size_t grown(std::size_t needed, std::size_t current) { return std::max(needed, current + current / 2); }

// One stream with its buffers. Stream 0's input also holds the batch's target table
// in front of its chunk; the other streams' kernels read it there.
struct Slot {
    Stream stream;
    Event done;  // recorded after the slot's last verdict copy
    PinnedBuffer staging;
    DeviceBuffer input;
    std::size_t input_capacity = 0;  // bytes, of staging and of input alike
    PinnedBuffer verdicts_host;
    DeviceBuffer verdicts_device;
    std::size_t verdict_capacity = 0;  // shares
    // The chunk whose verdicts are on their way into verdicts_host.
    bool pending = false;
    std::size_t pending_begin = 0;
    std::size_t pending_count = 0;

    void ensure(std::size_t input_bytes, std::size_t shares) {
        if (input_capacity < input_bytes) {
            const std::size_t bytes = grown(input_bytes, input_capacity);
            // Freed first so that old and new never have to fit together.
            input_capacity = 0;
            staging.reset();
            input.reset();
            staging = pinned_alloc(bytes);
            input = device_alloc(bytes);
            input_capacity = bytes;
        }
        if (verdict_capacity < shares) {
            const std::size_t bytes = grown(shares, verdict_capacity);
            verdict_capacity = 0;
            verdicts_host.reset();
            verdicts_device.reset();
            verdicts_host = pinned_alloc(bytes);
            verdicts_device = device_alloc(bytes);
            verdict_capacity = bytes;
        }
    }
};

class CudaVerifier final : public Verifier {
public:
    CudaVerifier() {
        check(cudaSetDevice(device_), "cudaSetDevice");
        cudaDeviceProp properties{};
        check(cudaGetDeviceProperties(&properties, device_), "cudaGetDeviceProperties");
        description_ = std::string("cuda: ") + properties.name + " (sm_" + std::to_string(properties.major) +
                       std::to_string(properties.minor) + ", " + std::to_string(properties.multiProcessorCount) +
                       " SMs), " + std::to_string(kStreams) + " streams";
        check(cudaFree(nullptr), "cudaFree");  // creates the context now, not in the first verify()
        for (auto& slot : slots_) {
            slot.stream = make_stream();
            slot.done = make_event(false);
        }
        table_ready_ = make_event(false);
        slots_[0].ensure(table_region_bytes(kInitialTargets) + chunk_input_bytes(kInitialShares), kInitialShares);
    }

    ~CudaVerifier() override {
        // Copies may still be in flight after a failure; the buffers they use are freed next.
        for (auto& slot : slots_) {
            if (slot.stream) cudaStreamSynchronize(slot.stream.get());
        }
    }

    CudaVerifier(const CudaVerifier&) = delete;
    CudaVerifier& operator=(const CudaVerifier&) = delete;

    std::string_view name() const override { return "cuda"; }
    std::string description() const override { return description_; }

private:
    void do_verify(const ShareBatch& batch, std::span<Verdict> verdicts) override {
        std::lock_guard lock(mutex_);
        throw_if_broken();
        const BatchView view = batch.view();
        if (view.size == 0) return;
        guarded([&] { run_pipeline(view, verdicts.data()); });
    }

    std::optional<double> do_kernel_only_seconds(const ShareBatch& batch, unsigned repetitions) override {
        std::lock_guard lock(mutex_);
        throw_if_broken();
        const BatchView view = batch.view();
        if (view.size == 0) return std::nullopt;
        if (view.size > UINT32_MAX) throw std::invalid_argument("kernel_only_seconds: batch over 2^32 - 1 shares");
        std::optional<double> seconds;
        // Declared outside the guarded call so that they outlive the drain after a failure.
        std::vector<std::byte> host;
        DeviceBuffer input;
        DeviceBuffer verdicts;
        guarded([&] { seconds = time_kernel(view, std::max(1u, repetitions), host, input, verdicts); });
        return seconds;
    }

    void throw_if_broken() const {
        if (!broken_.empty())
            throw std::runtime_error("cuda: verifier unusable after an earlier failure (" + broken_ + ")");
    }

    // Runs work; on any failure waits for whatever was enqueued (so that no copy still
    // reads or writes a buffer) and, unless the failure was only a missing allocation,
    // refuses all later work: after a device fault every call would fail anyway, and
    // after anything else the pipeline's state cannot be trusted.
    template <typename Work>
    void guarded(Work&& work) {
        try {
            check(cudaSetDevice(device_), "cudaSetDevice");
            work();
        } catch (const std::exception& failure) {
            drain();
            const auto* cuda_failure = dynamic_cast<const CudaError*>(&failure);
            if (cuda_failure == nullptr || cuda_failure->status() != cudaErrorMemoryAllocation)
                broken_ = failure.what();
            throw;
        } catch (...) {
            drain();
            broken_ = "unknown exception";
            throw;
        }
    }

    void drain() noexcept {
        for (auto& slot : slots_) {
            cudaStreamSynchronize(slot.stream.get());
            slot.pending = false;
        }
    }

    // Hands the slot's finished chunk to the caller, which frees the slot for the next one.
    void deliver(Slot& slot, Verdict* out) {
        if (!slot.pending) return;
        check(cudaEventSynchronize(slot.done.get()), "cudaEventSynchronize");
        std::memcpy(out + slot.pending_begin, slot.verdicts_host.get(), slot.pending_count);
        slot.pending = false;
    }

    void run_pipeline(const BatchView& view, Verdict* out) {
        const std::size_t n = view.size;
        const ChunkPlan plan = plan_chunks(n, kStreams, gpu::kMinChunk, gpu::kMaxChunk, kThreadsPerBlock);
        const auto used = static_cast<unsigned>(std::min<std::size_t>(kStreams, plan.chunk_count));
        const std::size_t table_bytes = table_region_bytes(view.target_count);
        for (unsigned s = 0; s < used; ++s)
            slots_[s].ensure((s == 0 ? table_bytes : 0) + chunk_input_bytes(plan.chunk_size), plan.chunk_size);
        const HeaderWords header = make_header(view.challenge, view.pool);
        // Every earlier batch has been delivered, so no copy still reads this region.
        pack_target_table(view, slots_[0].staging.get());
        const auto* table = reinterpret_cast<const std::uint64_t*>(slots_[0].input.get());

        for (std::size_t j = 0; j < plan.chunk_count; ++j) {
            const unsigned s = static_cast<unsigned>(j % used);
            Slot& slot = slots_[s];
            cudaStream_t stream = slot.stream.get();
            const std::size_t begin = j * plan.chunk_size;
            const std::size_t count = std::min(plan.chunk_size, n - begin);
            // The slot's previous chunk must be out of its staging and verdict buffers.
            deliver(slot, out);
            const std::size_t offset = s == 0 ? table_bytes : 0;
            packer_.pack(view, begin, count, slot.staging.get() + offset);
            // The first chunk brings the table along in the same copy.
            const std::size_t copy_from = j == 0 ? 0 : offset;
            check(cudaMemcpyAsync(slot.input.get() + copy_from, slot.staging.get() + copy_from,
                                  offset - copy_from + chunk_input_bytes(count), cudaMemcpyHostToDevice, stream),
                  "cudaMemcpyAsync");
            if (j == 0 && used > 1) check(cudaEventRecord(table_ready_.get(), stream), "cudaEventRecord");
            if (j != 0 && j < used) check(cudaStreamWaitEvent(stream, table_ready_.get(), 0), "cudaStreamWaitEvent");
            DeviceChunk chunk;
            chunk.words = reinterpret_cast<const std::uint64_t*>(slot.input.get() + offset);
            chunk.target_table = table;
            chunk.verdicts = reinterpret_cast<std::uint8_t*>(slot.verdicts_device.get());
            chunk.count = static_cast<std::uint32_t>(count);
            check(launch_check_shares(header, chunk, stream), "check_shares launch");
            check(cudaMemcpyAsync(slot.verdicts_host.get(), slot.verdicts_device.get(), count, cudaMemcpyDeviceToHost,
                                  stream),
                  "cudaMemcpyAsync");
            check(cudaEventRecord(slot.done.get(), stream), "cudaEventRecord");
            slot.pending = true;
            slot.pending_begin = begin;
            slot.pending_count = count;
        }
        // The last `used` chunks, one a slot, in the order they were enqueued.
        for (std::size_t j = plan.chunk_count - used; j < plan.chunk_count; ++j) deliver(slots_[j % used], out);
    }

    double time_kernel(const BatchView& view, unsigned repetitions, std::vector<std::byte>& host, DeviceBuffer& input,
                       DeviceBuffer& verdicts) {
        const std::size_t n = view.size;
        const std::size_t table_bytes = table_region_bytes(view.target_count);
        host.resize(table_bytes + chunk_input_bytes(n));
        pack_target_table(view, host.data());
        packer_.pack(view, 0, n, host.data() + table_bytes);
        input = device_alloc(host.size());
        verdicts = device_alloc(n);
        cudaStream_t stream = slots_[0].stream.get();
        // Stream-ordered before the launches; `host` outlives the copy even after a failure.
        check(cudaMemcpyAsync(input.get(), host.data(), host.size(), cudaMemcpyHostToDevice, stream),
              "cudaMemcpyAsync");
        DeviceChunk chunk;
        chunk.words = reinterpret_cast<const std::uint64_t*>(input.get() + table_bytes);
        chunk.target_table = reinterpret_cast<const std::uint64_t*>(input.get());
        chunk.verdicts = reinterpret_cast<std::uint8_t*>(verdicts.get());
        chunk.count = static_cast<std::uint32_t>(n);
        const HeaderWords header = make_header(view.challenge, view.pool);
        check(launch_check_shares(header, chunk, stream), "check_shares launch");  // warm-up
        std::vector<Event> starts;
        std::vector<Event> stops;
        for (unsigned r = 0; r < repetitions; ++r) {
            starts.push_back(make_event(true));
            stops.push_back(make_event(true));
        }
        for (unsigned r = 0; r < repetitions; ++r) {
            check(cudaEventRecord(starts[r].get(), stream), "cudaEventRecord");
            check(launch_check_shares(header, chunk, stream), "check_shares launch");
            check(cudaEventRecord(stops[r].get(), stream), "cudaEventRecord");
        }
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
        std::vector<double> seconds;
        for (unsigned r = 0; r < repetitions; ++r) {
            float ms = 0;
            check(cudaEventElapsedTime(&ms, starts[r].get(), stops[r].get()), "cudaEventElapsedTime");
            seconds.push_back(static_cast<double>(ms) / 1000.0);
        }
        return gpu::median(std::move(seconds));
    }

    const int device_ = 0;
    std::string description_;
    std::mutex mutex_;  // one batch at a time owns the pipeline
    Slot slots_[kStreams];
    Event table_ready_;  // stream 0's copy of the table, which the other streams' kernels wait for
    gpu::ChunkPacker packer_;
    std::string broken_;  // why the verifier refuses work, once it does
};

}  // namespace

}  // namespace cuda

namespace backends {

VerifierResult make_cuda(const VerifierOptions& options) {
    (void)options;
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        // These say that a GPU and its driver are there but do not work together (the
        // driver and its kernel module disagree, the fabric manager is not up): broken,
        // not absent. Anything else (no driver, no device, all devices taken) is absence.
        const bool broken = status == cudaErrorSystemNotReady || status == cudaErrorSystemDriverMismatch ||
                            status == cudaErrorCompatNotSupportedOnDevice;
        return VerifierResult::refused(
            broken ? Refusal::failed : Refusal::unavailable,
            cuda::one_line(std::string("cuda: no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorName(status) +
                           ": " + cudaGetErrorString(status) + ")"));
    }
    if (count == 0) return VerifierResult::unavailable("cuda: no CUDA device (cudaGetDeviceCount found none)");
    // A device is there: what goes wrong from here on is a broken backend, not a missing one.
    try {
        return VerifierResult::made(std::make_unique<cuda::CudaVerifier>());
    } catch (const std::exception& failure) {
        return VerifierResult::failed(cuda::one_line(failure.what()));
    } catch (...) {
        return VerifierResult::failed("cuda: unknown exception while starting the verifier");
    }
}

}  // namespace backends

}  // namespace sharegate
