#include "spool/spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "spool/record_format.hpp"

namespace sharegate::spool {
namespace {

constexpr const char* kWatermarkName = "ack-watermark";
constexpr const char* kWatermarkTemporaryName = "ack-watermark.tmp";
constexpr const char* kWatermarkTag = "sharegate-spool-ack";
constexpr const char* kProbeName = ".write-probe";

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

std::string segment_file_name(std::uint64_t sequence) {
    char name[32];
    std::snprintf(name, sizeof name, "%012llu.spool", static_cast<unsigned long long>(sequence));
    return name;
}

std::optional<std::uint64_t> parse_segment_file_name(const std::string& name) {
    if (name.size() != 18 || name.compare(12, 6, ".spool") != 0) return std::nullopt;
    std::uint64_t sequence = 0;
    for (std::size_t i = 0; i < 12; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        sequence = sequence * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    return sequence;
}

// Empty on success, else what failed.
std::string write_all(int fd, std::string_view data, std::uint64_t offset) {
    while (!data.empty()) {
        const ssize_t written = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (written < 0) {
            if (errno == EINTR) continue;
            return "write: " + errno_text(errno);
        }
        data.remove_prefix(static_cast<std::size_t>(written));
        offset += static_cast<std::uint64_t>(written);
    }
    return {};
}

std::string read_exactly(int fd, std::string& out, std::size_t size, std::uint64_t offset) {
    out.resize(size);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t got = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
        if (got < 0) {
            if (errno == EINTR) continue;
            return "read: " + errno_text(errno);
        }
        if (got == 0) return "read: the file ends early";
        done += static_cast<std::size_t>(got);
    }
    return {};
}

std::chrono::system_clock::time_point modification_time(const struct stat& status) {
    const auto since_epoch =
        std::chrono::seconds{status.st_mtim.tv_sec} + std::chrono::nanoseconds{status.st_mtim.tv_nsec};
    return std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch)};
}

}  // namespace

struct Spool::Segment {
    Segment(std::uint64_t sequence_, std::filesystem::path path_, int fd_)
        : sequence(sequence_), path(std::move(path_)), fd(fd_) {}
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;
    // Held by shared_ptr so that next() can read a segment outside the lock even if an
    // acknowledgement retires it meanwhile.
    ~Segment() { ::close(fd); }

    const std::uint64_t sequence;
    const std::filesystem::path path;
    const int fd;
    std::uint64_t size = 0;  // bytes on disk
    std::uint64_t records = 0;
    std::uint64_t acknowledged = 0;
    bool corrupt = false;  // kept as *.corrupt when finished: its unreadable rest is evidence
};

Spool::Spool(std::filesystem::path dir, int dir_fd, Options options)
    : dir_(std::move(dir)), dir_fd_(dir_fd), options_(std::move(options)) {}

Spool::~Spool() {
    close();
    ::close(dir_fd_);  // releases the flock
}

std::variant<std::unique_ptr<Spool>, std::string> Spool::open(std::filesystem::path dir, Options options) {
    const std::string where = "spool directory " + dir.string();
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return where + ": cannot create it: " + error.message();
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        const int error_number = errno;
        return where + ": cannot open it: " + errno_text(error_number);
    }
    std::unique_ptr<Spool> spool(new Spool(dir, dir_fd, std::move(options)));
    if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
        const int error_number = errno;
        return where + (error_number == EWOULDBLOCK ? ": in use by another process"
                                                    : ": cannot lock it: " + errno_text(error_number));
    }

    const std::filesystem::path probe = dir / kProbeName;
    const int probe_fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (probe_fd < 0) {
        const int error_number = errno;
        return where + " is not writable: " + errno_text(error_number);
    }
    ::close(probe_fd);
    if (::unlink(probe.c_str()) != 0) {
        const int error_number = errno;
        return where + " is not writable: " + errno_text(error_number);
    }

    if (auto refused = spool->load_existing()) return *refused;

    const std::uint64_t sequence = spool->next_segment_++;
    const std::filesystem::path path = dir / segment_file_name(sequence);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int error_number = errno;
        return where + ": cannot create segment " + path.filename().string() + ": " + errno_text(error_number);
    }
    auto segment = std::make_shared<Segment>(sequence, path, fd);
    std::string failed = write_all(fd, encode_segment_header(), 0);
    if (failed.empty() && spool->options_.sync == Options::Sync::every_group && ::fdatasync(fd) != 0)
        failed = "fdatasync: " + errno_text(errno);
    if (!failed.empty()) return where + ": cannot write segment " + path.filename().string() + ": " + failed;
    spool->sync_directory();
    segment->size = kSegmentHeaderSize;
    spool->bytes_ += segment->size;
    spool->segments_[sequence] = segment;
    spool->current_ = std::move(segment);

    spool->last_ack_save_ = std::chrono::steady_clock::now();
    spool->writer_ = std::thread(&Spool::writer_loop, spool.get());
    return spool;
}

std::optional<std::string> Spool::load_existing() {
    Watermark acknowledged_before;
    const std::filesystem::path watermark_path = dir_ / kWatermarkName;
    if (std::filesystem::exists(watermark_path)) {
        std::ifstream in(watermark_path);
        std::string tag;
        int version = 0;
        const bool readable = in >> tag >> version >> acknowledged_before.segment >> acknowledged_before.offset &&
                              tag == kWatermarkTag && version == 1;
        if (!readable) {
            acknowledged_before = Watermark{};
            log(Severity::warning,
                "spool: " + watermark_path.string() +
                    " is unreadable: every record on disk is replayed (the Redis push is idempotent)");
        }
    }

    std::vector<std::pair<std::uint64_t, std::filesystem::path>> found;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
        if (auto sequence = parse_segment_file_name(entry.path().filename().string()))
            found.emplace_back(*sequence, entry.path());
    }
    if (error) return "spool directory " + dir_.string() + ": cannot list it: " + error.message();
    std::sort(found.begin(), found.end());

    bool removed_any = false;
    for (const auto& [sequence, path] : found) {
        next_segment_ = std::max(next_segment_, sequence + 1);
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            const int error_number = errno;
            return "spool segment " + path.string() + ": cannot open it: " + errno_text(error_number);
        }
        auto segment = std::make_shared<Segment>(sequence, path, fd);
        struct stat status {};
        if (::fstat(fd, &status) != 0) {
            const int error_number = errno;
            return "spool segment " + path.string() + ": " + errno_text(error_number);
        }
        std::string data;
        if (auto failed = read_exactly(fd, data, static_cast<std::size_t>(status.st_size), 0); !failed.empty())
            return "spool segment " + path.string() + ": " + failed;
        auto decoded = decode(data);
        if (const auto* refusal = std::get_if<Refusal>(&decoded))
            return "spool segment " + path.string() + ": " + refusal->why +
                   " (move it out of the spool directory to start)";
        const auto& result = std::get<DecodeResult>(decoded);
        if (result.valid_bytes < kSegmentHeaderSize) {
            // Created but never written: it cannot hold an acknowledged record.
            log(Severity::warning, "spool: removed " + path.string() + ": " + result.why);
            if (::unlink(path.c_str()) != 0) {
                const int error_number = errno;
                return "spool segment " + path.string() + ": cannot remove it: " + errno_text(error_number);
            }
            removed_any = true;
            continue;
        }
        segment->size = data.size();
        if (result.tail == Tail::torn) {
            if (::ftruncate(fd, static_cast<off_t>(result.valid_bytes)) != 0 ||
                (options_.sync == Options::Sync::every_group && ::fdatasync(fd) != 0)) {
                const int error_number = errno;
                return "spool segment " + path.string() +
                       ": cannot truncate its torn tail: " + errno_text(error_number);
            }
            log(Severity::warning, "spool: dropped the torn tail of " + path.string() + ": " +
                                       std::to_string(data.size() - result.valid_bytes) + " bytes after offset " +
                                       std::to_string(result.valid_bytes) + " (" + result.why +
                                       "); a torn record was never acknowledged");
            segment->size = result.valid_bytes;
        } else if (result.tail == Tail::corrupt) {
            segment->corrupt = true;
            log(Severity::error,
                "spool: segment " + path.string() + " is corrupt: " + result.why + "; the " +
                    std::to_string(result.records.size()) +
                    " records before it are kept and replayed, the rest cannot be read; the file is kept as " +
                    path.filename().string() + ".corrupt once they are delivered");
        }
        const auto appended = modification_time(status);
        for (const Record& record : result.records) {
            const bool delivered =
                sequence < acknowledged_before.segment ||
                (sequence == acknowledged_before.segment && record.offset < acknowledged_before.offset);
            ++segment->records;
            if (delivered) {
                ++segment->acknowledged;
                continue;
            }
            slots_.push_back(Slot{sequence, record.offset + kRecordHeaderSize,
                                  static_cast<std::uint32_t>(record.payload.size()), SlotState::ready, appended});
            ++records_waiting_;
        }
        bytes_ += segment->size;
        segments_[sequence] = std::move(segment);
    }
    // A new segment must sort after the watermark's, or its records would count as delivered.
    next_segment_ = std::max(next_segment_, acknowledged_before.segment + 1);
    if (removed_any) sync_directory();

    // Segments whose every record was delivered before the last close go now.
    Segments loaded;
    for (const auto& entry : segments_) loaded.push_back(entry.second);
    Segments retired;
    for (const auto& segment : loaded) retire_if_finished(segment, retired);
    remove_files(retired);
    return std::nullopt;
}

void Spool::append(std::string payload, Done done) {
    if (payload.empty() || payload.size() > kMaxPayloadSize) {
        log(Severity::error, "spool: refused a record of " + std::to_string(payload.size()) + " bytes (1 to " +
                                 std::to_string(kMaxPayloadSize) + " allowed)");
        done(false);
        return;
    }
    std::string record = encode_record(payload);
    enum class Outcome { queued, queued_first, closed, full } outcome;
    std::string full_line;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            outcome = Outcome::closed;
        } else if (bytes_ + reserved_bytes_ + kSegmentHeaderSize + record.size() > options_.max_bytes) {
            outcome = Outcome::full;
            full_ = true;
            ++refused_unlogged_;
            const auto now = std::chrono::steady_clock::now();
            if (!full_logged_ || now - *full_logged_ >= options_.full_log_interval) {
                full_line = "spool: full (" + std::to_string(bytes_) + " of " + std::to_string(options_.max_bytes) +
                            " bytes): " + std::to_string(refused_unlogged_) +
                            (refused_unlogged_ == 1 ? " share" : " shares") +
                            " refused since the last report; new shares are refused until the drain frees a segment";
                full_logged_ = now;
                refused_unlogged_ = 0;
            }
        } else {
            reserved_bytes_ += record.size();
            outcome = pending_.empty() ? Outcome::queued_first : Outcome::queued;
            if (pending_.empty()) first_pending_ = std::chrono::steady_clock::now();
            pending_.push_back(Pending{std::move(record), std::move(done), std::chrono::system_clock::now()});
        }
    }
    switch (outcome) {
        case Outcome::queued: return;
        case Outcome::queued_first: wake_writer_.notify_one(); return;
        case Outcome::full:
            if (!full_line.empty()) log(Severity::error, std::move(full_line));
            done(false);
            return;
        case Outcome::closed: done(false); return;
    }
}

bool Spool::full() const {
    std::lock_guard lock(mutex_);
    return full_;
}

std::vector<Entry> Spool::next(std::size_t max) {
    struct Pick {
        std::uint64_t id;
        std::shared_ptr<Segment> segment;
        std::uint64_t offset;
        std::uint32_t length;
        std::chrono::system_clock::time_point appended;
    };
    std::vector<Pick> picks;
    {
        std::lock_guard lock(mutex_);
        while (picks.size() < max) {
            std::uint64_t id;
            if (!requeued_.empty()) {
                id = *requeued_.begin();
                requeued_.erase(requeued_.begin());
            } else if (cursor_ < first_id_ + slots_.size()) {
                id = cursor_++;
            } else {
                break;
            }
            Slot& picked = *slot(id);
            picked.state = SlotState::handed_out;
            picks.push_back(
                Pick{id, segments_.at(picked.segment), picked.payload_offset, picked.length, picked.appended});
        }
    }
    // Read outside the lock, so that append() never waits on the disk behind a drain.
    std::vector<Entry> entries;
    entries.reserve(picks.size());
    for (std::size_t i = 0; i < picks.size(); ++i) {
        const Pick& pick = picks[i];
        std::string payload;
        if (auto failed = read_exactly(pick.segment->fd, payload, pick.length, pick.offset); !failed.empty()) {
            log(Severity::error, "spool: reading record " + std::to_string(pick.id) + " from " +
                                     pick.segment->path.string() + ": " + failed + "; it stays queued");
            std::lock_guard lock(mutex_);
            for (std::size_t j = i; j < picks.size(); ++j) {
                slot(picks[j].id)->state = SlotState::ready;
                requeued_.insert(picks[j].id);
            }
            break;
        }
        entries.push_back(Entry{pick.id, std::move(payload), pick.appended});
    }
    return entries;
}

bool Spool::acknowledge(std::uint64_t id) {
    Segments retired;
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        Slot* acknowledged = slot(id);
        if (acknowledged == nullptr || acknowledged->state != SlotState::handed_out) return false;
        acknowledged->state = SlotState::acknowledged;
        const std::uint64_t sequence = acknowledged->segment;
        --records_waiting_;
        ++acknowledged_total_;
        while (!slots_.empty() && slots_.front().state == SlotState::acknowledged) {
            slots_.pop_front();
            ++first_id_;
        }
        if (auto found = segments_.find(sequence); found != segments_.end()) {
            ++found->second->acknowledged;
            retire_if_finished(found->second, retired);
        }
        wake = !ack_dirty_;
        ack_dirty_ = true;
    }
    if (wake) wake_writer_.notify_one();
    remove_files(retired);
    return true;
}

bool Spool::requeue(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    Slot* failed = slot(id);
    if (failed == nullptr || failed->state != SlotState::handed_out) return false;
    failed->state = SlotState::ready;
    requeued_.insert(id);
    return true;
}

Stats Spool::stats() const {
    std::lock_guard lock(mutex_);
    Stats stats;
    stats.records_waiting = records_waiting_.load();
    stats.bytes = bytes_;
    stats.appended_total = appended_total_;
    stats.acknowledged_total = acknowledged_total_;
    stats.groups_synced = groups_synced_;
    if (!slots_.empty()) stats.oldest = slots_.front().appended;  // acknowledged slots leave the front
    return stats;
}

void Spool::close() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_writer_.notify_all();
    // From a done callback (the writer thread itself) the writer is only told to stop; the
    // destructor joins it.
    if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

void Spool::writer_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!pending_.empty()) {
            const auto deadline = first_pending_ + options_.group_window;
            if (!stopping_ && std::chrono::steady_clock::now() < deadline)
                wake_writer_.wait_until(lock, deadline, [this] { return stopping_; });
            write_group(lock);
            continue;
        }
        const auto save_due = last_ack_save_ + options_.ack_save_interval;
        if (ack_dirty_ && (stopping_ || std::chrono::steady_clock::now() >= save_due)) {
            save_watermark(lock);
            continue;
        }
        if (stopping_) return;
        if (ack_dirty_)
            wake_writer_.wait_until(lock, save_due, [this] { return stopping_ || !pending_.empty(); });
        else
            wake_writer_.wait(lock, [this] { return stopping_ || ack_dirty_ || !pending_.empty(); });
    }
}

void Spool::write_group(std::unique_lock<std::mutex>& lock) {
    std::vector<Pending> group;
    group.swap(pending_);
    std::uint64_t group_bytes = 0;
    for (const Pending& pending : group) group_bytes += pending.record.size();
    const std::shared_ptr<Segment> previous = current_;
    const bool roll = !previous || (previous->records > 0 && previous->size + group_bytes > options_.segment_bytes);
    const std::uint64_t new_sequence = roll ? next_segment_++ : 0;
    const std::uint64_t start = roll ? kSegmentHeaderSize : previous->size;
    writer_busy_ = true;
    lock.unlock();

    const bool sync = options_.sync == Options::Sync::every_group;
    std::string failed;
    std::shared_ptr<Segment> target = previous;
    if (roll) {
        const std::filesystem::path path = dir_ / segment_file_name(new_sequence);
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            const int error_number = errno;
            failed = "creating " + path.string() + ": " + errno_text(error_number);
            target = nullptr;
        } else {
            target = std::make_shared<Segment>(new_sequence, path, fd);
            failed = write_all(fd, encode_segment_header(), 0);
            sync_directory();
        }
    }
    if (failed.empty()) {
        std::string buffer;
        buffer.reserve(group_bytes);
        for (const Pending& pending : group) buffer += pending.record;
        failed = write_all(target->fd, buffer, start);
        if (failed.empty() && sync && ::fdatasync(target->fd) != 0) {
            const int error_number = errno;
            failed = "fdatasync: " + errno_text(error_number);
        }
        // Whatever of the group reached the file must not be replayed: it is answered false.
        if (!failed.empty() && ::ftruncate(target->fd, static_cast<off_t>(start)) != 0)
            failed += "; truncating it back also failed (" + errno_text(errno) +
                      "): its records may be replayed at the next start";
    }

    lock.lock();
    Segments retired;
    reserved_bytes_ -= group_bytes;
    if (roll && target) {
        target->size = kSegmentHeaderSize;
        bytes_ += target->size;
        segments_[target->sequence] = target;
        current_ = target;
        retire_if_finished(previous, retired);
    }
    if (failed.empty()) {
        std::uint64_t offset = start;
        for (const Pending& pending : group) {
            slots_.push_back(Slot{target->sequence, offset + kRecordHeaderSize,
                                  static_cast<std::uint32_t>(pending.record.size() - kRecordHeaderSize),
                                  SlotState::ready, pending.appended});
            offset += pending.record.size();
        }
        target->records += group.size();
        target->size += group_bytes;
        bytes_ += group_bytes;
        records_waiting_ += group.size();
        appended_total_ += group.size();
        ++groups_synced_;
    } else if (target) {
        // Count what a failed truncation left, and seal the segment: no later group lands
        // behind bytes of unknown state.
        struct stat status {};
        if (::fstat(target->fd, &status) == 0 && static_cast<std::uint64_t>(status.st_size) > target->size) {
            bytes_ += static_cast<std::uint64_t>(status.st_size) - target->size;
            target->size = static_cast<std::uint64_t>(status.st_size);
        }
        if (current_ == target) current_.reset();
    }
    writer_busy_ = false;
    if (!failed.empty()) retire_if_finished(target, retired);
    lock.unlock();

    if (!failed.empty())
        log(Severity::error, "spool: writing a group of " + std::to_string(group.size()) +
                                 " records failed: " + failed + "; they are answered as not stored");
    for (Pending& pending : group) pending.done(failed.empty());
    remove_files(retired);
    lock.lock();
}

void Spool::save_watermark(std::unique_lock<std::mutex>& lock) {
    const Watermark watermark = watermark_locked();
    ack_dirty_ = false;
    last_ack_save_ = std::chrono::steady_clock::now();
    lock.unlock();

    const bool sync = options_.sync == Options::Sync::every_group;
    const std::filesystem::path temporary = dir_ / kWatermarkTemporaryName;
    const std::string text = std::string(kWatermarkTag) + " 1 " + std::to_string(watermark.segment) + " " +
                             std::to_string(watermark.offset) + "\n";
    std::string failed;
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        failed = errno_text(errno);
    } else {
        failed = write_all(fd, text, 0);
        if (failed.empty() && sync && ::fdatasync(fd) != 0) {
            const int error_number = errno;
            failed = "fdatasync: " + errno_text(error_number);
        }
        ::close(fd);
        if (failed.empty() && ::rename(temporary.c_str(), (dir_ / kWatermarkName).c_str()) != 0)
            failed = "rename: " + errno_text(errno);
        if (failed.empty() && sync) sync_directory();
    }
    if (!failed.empty())
        log(Severity::error, "spool: saving the acknowledgement watermark failed (" + failed +
                                 "): delivered records may be replayed at the next start");
    lock.lock();
}

void Spool::retire_if_finished(std::shared_ptr<Segment> segment, Segments& retired) {
    if (!segment || segment->acknowledged != segment->records) return;
    if (segment == current_) {
        // The writer may be appending to it; a fresh current segment holds nothing yet.
        if (writer_busy_ || segment->records == 0) return;
        current_.reset();
    }
    if (segments_.erase(segment->sequence) == 0) return;
    bytes_ -= segment->size;
    full_ = false;
    retired.push_back(std::move(segment));
}

void Spool::remove_files(const Segments& retired) {
    if (retired.empty()) return;
    for (const auto& segment : retired) {
        if (segment->corrupt) {
            const std::string kept = segment->path.string() + ".corrupt";
            if (::rename(segment->path.c_str(), kept.c_str()) != 0) {
                const int error_number = errno;
                log(Severity::error,
                    "spool: renaming " + segment->path.string() + " failed: " + errno_text(error_number));
            }
        } else if (::unlink(segment->path.c_str()) != 0) {
            const int error_number = errno;
            log(Severity::error, "spool: removing " + segment->path.string() + " failed: " + errno_text(error_number));
        }
    }
    sync_directory();
}

Spool::Slot* Spool::slot(std::uint64_t id) {
    if (id < first_id_ || id - first_id_ >= slots_.size()) return nullptr;
    return &slots_[id - first_id_];
}

Spool::Watermark Spool::watermark_locked() const {
    if (!slots_.empty()) return Watermark{slots_.front().segment, slots_.front().payload_offset - kRecordHeaderSize};
    if (current_) return Watermark{current_->sequence, current_->size};
    return Watermark{next_segment_, 0};
}

void Spool::sync_directory() {
    // Creating, renaming or removing a file is durable only once its directory is synced.
    if (::fsync(dir_fd_) != 0) {
        const int error_number = errno;
        log(Severity::error, "spool: fsync of " + dir_.string() + " failed: " + errno_text(error_number));
    }
}

void Spool::log(Severity severity, std::string message) const {
    if (options_.log) options_.log(severity, std::move(message));
}

}  // namespace sharegate::spool
