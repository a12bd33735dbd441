// The durable local share spool: shares that Redis did not take in time are appended to
// segment files (record_format.hpp) with group commit, and handed back in append order for
// the drain into Redis. Standard library and POSIX only; it reports through callbacks.
//
// Files in the spool directory:
//   NNNNNNNNNNNN.spool   segments, 12-digit sequence; one is current (appended to), the
//                        others are sealed and deleted once every record in them is
//                        acknowledged
//   ack-watermark        the first record not yet acknowledged, so that a restart does not
//                        replay what the drain already delivered (saved about once a second
//                        and at close: after a crash, up to a second of acknowledged records,
//                        and acknowledgements made out of order, are replayed; the Redis push
//                        is idempotent)
//   *.spool.corrupt      a segment with a corrupt record, kept for inspection once the records
//                        before the corruption are delivered
// One process holds the directory at a time (flock on the directory).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace sharegate::spool {

enum class Severity { warning, error };

struct Options {
    enum class Sync {
        every_group,  // fdatasync once per group before its shares are answered (default)
        none,         // leave it to the OS: a crash of the machine may lose answered shares
    };
    std::uint64_t max_bytes = std::uint64_t{1} << 30;  // sum of the segment files' sizes
    Sync sync = Sync::every_group;
    // A group is everything appended within this long of its first record.
    std::chrono::microseconds group_window{2000};
    // The current segment is sealed and a new one started once a group would take it past
    // this, so that space comes back as the drain proceeds. Small in tests.
    std::uint64_t segment_bytes = std::uint64_t{64} << 20;
    // How often, at most, the acknowledgement watermark is saved (and always at close).
    std::chrono::milliseconds ack_save_interval{1000};
    // While the spool is full, how often at most a refusal is logged (with the number
    // refused since the last line): an outage longer than the spool lasts must not
    // write a log line per share.
    std::chrono::milliseconds full_log_interval{60000};
    // Notable events, each a line starting "spool: ": warnings (a torn tail dropped, an
    // unreadable watermark: what a crash leaves) and errors (a corrupt segment, a failed
    // write, full). Called from open(), the writer thread and the threads calling
    // append()/next()/acknowledge().
    std::function<void(Severity, std::string)> log;
};

struct Entry {
    std::uint64_t id;
    std::string payload;
    // For records found at open: the segment file's modification time.
    std::chrono::system_clock::time_point appended;
};

struct Stats {
    std::uint64_t records_waiting = 0;  // stored and not acknowledged (handed out or not)
    std::uint64_t bytes = 0;            // the segment files' sizes
    std::uint64_t appended_total = 0;   // stored by this process (done(true))
    std::uint64_t acknowledged_total = 0;
    std::uint64_t groups_synced = 0;                              // groups written (and fdatasync'd under every_group)
    std::optional<std::chrono::system_clock::time_point> oldest;  // of the records waiting
};

class Spool {
public:
    using Done = std::function<void(bool durable)>;

    // Creates the directory if missing, checks it is writable, reads every segment (a torn
    // tail is truncated away and logged; the records before it are the backlog) and starts
    // the writer thread. The error is one line naming the directory or file and the reason.
    static std::variant<std::unique_ptr<Spool>, std::string> open(std::filesystem::path dir, Options options);

    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;
    ~Spool();

    // Thread-safe and never waits on the disk: the writer thread writes the group and calls
    // done(true) once it is durable (per Options::sync), done(false) if the write failed.
    // done runs on the writer thread, which writes no further group until it returns: post
    // anything slow elsewhere.
    // done(false) at once, on the caller's thread, when the record would take the spool over
    // max_bytes, when the payload is empty or over kMaxPayloadSize, or after close().
    void append(std::string payload, Done done);
    // An append was refused for space and no segment has been freed since.
    bool full() const;

    // Up to max stored records not handed out yet, in append order (the backlog first);
    // records handed back by requeue() come before every later one.
    std::vector<Entry> next(std::size_t max);
    // Marks a handed-out record delivered (in any order); a sealed segment whose records are
    // all acknowledged is deleted. False when id is not a handed-out record.
    bool acknowledge(std::uint64_t id);
    // Hands a record back whose delivery failed; false when id is not a handed-out record.
    bool requeue(std::uint64_t id);

    Stats stats() const;
    // stats().records_waiting without taking the lock: asked once a share.
    std::uint64_t records_waiting() const { return records_waiting_.load(std::memory_order_acquire); }

    // Writes the groups still pending, saves the watermark and joins the writer thread.
    // Records not acknowledged stay on disk for the next open.
    void close();

private:
    struct Segment;
    enum class SlotState : std::uint8_t { ready, handed_out, acknowledged };
    struct Slot {
        std::uint64_t segment;         // sequence number
        std::uint64_t payload_offset;  // in the segment file
        std::uint32_t length;
        SlotState state;
        std::chrono::system_clock::time_point appended;
    };
    struct Pending {
        std::string record;  // encoded
        Done done;
        std::chrono::system_clock::time_point appended;
    };
    struct Watermark {
        std::uint64_t segment = 0;
        std::uint64_t offset = 0;  // of the first record not acknowledged
    };
    using Segments = std::vector<std::shared_ptr<Segment>>;

    Spool(std::filesystem::path dir, int dir_fd, Options options);

    std::optional<std::string> load_existing();
    void writer_loop();
    void write_group(std::unique_lock<std::mutex>& lock);
    void save_watermark(std::unique_lock<std::mutex>& lock);
    // Under the lock: takes a finished segment out of the books (by value: it may be the
    // books' own pointer); the caller removes its file outside the lock with remove_files().
    void retire_if_finished(std::shared_ptr<Segment> segment, Segments& retired);
    void remove_files(const Segments& retired);
    Slot* slot(std::uint64_t id);
    Watermark watermark_locked() const;
    void sync_directory();
    void log(Severity severity, std::string message) const;

    const std::filesystem::path dir_;
    const int dir_fd_;
    const Options options_;

    mutable std::mutex mutex_;
    std::condition_variable wake_writer_;
    std::thread writer_;
    bool stopping_ = false;

    std::map<std::uint64_t, std::shared_ptr<Segment>> segments_;
    std::shared_ptr<Segment> current_;  // null after a failed write or once fully delivered
    std::uint64_t next_segment_ = 1;
    bool writer_busy_ = false;  // the writer is writing to current_ outside the lock

    std::vector<Pending> pending_;
    std::chrono::steady_clock::time_point first_pending_;
    std::uint64_t reserved_bytes_ = 0;  // pending and in-flight records
    std::uint64_t bytes_ = 0;
    bool full_ = false;
    std::optional<std::chrono::steady_clock::time_point> full_logged_;  // the last "full" line
    std::uint64_t refused_unlogged_ = 0;                                // refused for space since it

    // Slot of id first_id_ + i; acknowledged slots leave the front.
    std::deque<Slot> slots_;
    std::uint64_t first_id_ = 1;
    std::uint64_t cursor_ = 1;  // the first id never handed out
    std::set<std::uint64_t> requeued_;

    bool ack_dirty_ = false;
    std::chrono::steady_clock::time_point last_ack_save_;

    // Changed under the lock; atomic so that records_waiting() reads it without the lock.
    std::atomic<std::uint64_t> records_waiting_{0};
    std::uint64_t appended_total_ = 0;
    std::uint64_t acknowledged_total_ = 0;
    std::uint64_t groups_synced_ = 0;
};

}  // namespace sharegate::spool
