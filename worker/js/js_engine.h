#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cluster_limits.h"
#include "common/job_defaults.h"
#include "common/status.h"
#include "worker/state/state_backend.h"

namespace sluice::js {

// Inside a chain that is a DAG (ChainSpec::dag): an edge from one stage to a later one, or to
// the chain's output (stage == the number of stages), and which input of that stage it feeds.
struct StageLink {
  int stage = 0;
  uint32_t input = 0;
};

// One operator of the chain a task runs, as the JS engine needs it.
struct StageSpec {
  std::string operator_id;
  std::string operator_name;
  // "source.generator", "source.nexmark", "source.file", "map", "filter", "flat_map",
  // "assign_timestamps" (functions.fn(record, params) is the record's event time; config
  // { maxOutOfOrderness, idleTimeout } in ms), and the keyed operators of runtime/README.md
  // ("reduce", "aggregate", "window", "window_join", "interval_join", "process").
  std::string kind;
  std::string config_json;                       // the operator's config ("" means {})
  std::map<std::string, std::string> functions;  // role -> JS source text ("fn", ...)
  // A keyed stage fed by an edge inside the chain (a keyBy the planner chained): that edge's
  // key selector, with which the stage keys its records itself; "" otherwise.
  std::string chained_key_fn = {};
  // That keyBy is already partitioned (common/key_partitioning.h: the user's mark, or a window's
  // records keyed by their own key) and the task is one of several subtasks: the stage checks that each record's key group is one of the chain's
  // (ChainSpec::first_key_group .. last_key_group) and fails the task naming the key otherwise.
  bool partitioned_input = false;
  // In a DAG chain: where this stage's records go (in this order), and, for a keyed stage, the
  // key selector of the edge feeding each of its inputs from inside the chain (by input).
  std::vector<StageLink> next = {};
  std::vector<std::string> chained_key_fns = {};
};

// What a chain hands back per batch.
enum class OutputMode {
  kPartitioned,  // records partitioned over downstream subtasks, per ChainSpec::outputs
  kJsonLines,  // every output record as JSON.stringify(record) + '\n'
  kCount,      // only the number of output records (discarding sink)
};

// How one outgoing edge spreads records over its downstream subtasks.
enum class Partitioning {
  kForward,    // all to target `subtask` (equal parallelism on both sides)
  kRebalance,  // round robin over the targets
  kHash,       // by key: key group = hash(key) mod max_parallelism; the target owning that
               // key group is key_group * targets / max_parallelism (contiguous ranges)
  kBroadcast,  // every record to every target
};

// How a partitioned chain encodes each target's batch (see worker/js/README.md, "The exchange
// codec"). Either way the receiving chain (RunText, text_format "json") reads it.
enum class BatchCodec {
  kColumnar,   // a columnar batch when every record fits one shape, else JSON lines
  kJsonLines,  // always JSON lines
};

struct PartitionSpec {
  Partitioning partitioning = Partitioning::kForward;
  uint32_t targets = 1;            // downstream subtasks
  uint32_t subtask = 0;            // this task's own subtask index (forward, rebalance start)
  uint32_t max_parallelism = kDefaultMaxParallelism;  // key groups, with kHash
  std::string key_fn;              // with kHash: the key selector's source, fn(record, params)
  bool late = false;  // carries the late records of the chain's window stage (its side output)
  // With kHash: "'name' (id)" of the operator the edge feeds, whose keyBy the key selector is;
  // its errors name it ("": the chain's last operator).
  std::string key_operator;
  // With kHash: the window operator the edge feeds when the chain pre-aggregates for it
  // (runtime/combiner.js): records go out as partial accumulators per key and slice.
  std::optional<StageSpec> combiner;
};

// The part of a task that runs in JS: an optional generated source, then map/filter/flat_map
// (and keyed "reduce") stages, then the output encoding.
struct ChainSpec {
  // If stages[0] is a generated source (source.generator, source.nexmark) the chain is driven
  // with RunGenerated; otherwise it is driven with RunText and `text_format` says how to turn
  // each line into a record: "lines" (the line is a string record) or "json" (JSON.parse).
  // A text chain may start with the "source.file" or "source.kafka" stage that reads the lines
  // (no function; its config is not used here): errors in the input, such as a bad JSON line, then name that
  // operator; without it they name "the input".
  std::vector<StageSpec> stages;
  std::string text_format = "lines";
  OutputMode output = OutputMode::kJsonLines;
  std::string params_json = "{}";
  // With OutputMode::kPartitioned: one entry per outgoing edge; every output record goes to
  // each edge, partitioned over that edge's downstream subtasks.
  std::vector<PartitionSpec> outputs;
  BatchCodec codec = BatchCodec::kColumnar;
  // The key selectors of the HASH edges feeding this chain, for its keyed stage: per input
  // (1 for a join's second input); input_key_fn alone stands for input 0. And the number of key
  // groups.
  std::string input_key_fn;
  std::vector<std::string> input_key_fns;
  // The first keyed stage's input is an edge inside this chain (a keyBy the planner chained,
  // both sides of parallelism 1), not the chain's input: its key selector is input_key_fns[0]
  // (that edge's), it has one input, and its watermark is the one the stages before it make
  // (their timestamp assigners), moved on after every batch. Later keyed stages always take
  // their records inside the chain, keyed by their StageSpec::chained_key_fn.
  bool keyed_input_in_chain = false;
  // The stages form a DAG (the planner chained a fan-out, a union or a join's two inputs): each
  // stage's StageSpec::next says where its records go, stage order is topological, the first
  // stage (after a source) takes the chain's input and only the last one's records leave it.
  // Every keyed stage is then keyed inside the chain by its StageSpec::chained_key_fns, unless
  // it is the first stage and takes the chain's (keyed) input.
  bool dag = false;
  // The chain's HASH input may carry partial accumulators (runtime/combiner.js) besides
  // records: its keyed stage, a window operator, merges them (processPartial).
  bool combined_input = false;
  uint32_t max_parallelism = kDefaultMaxParallelism;
  // The key groups this task's subtask owns, and which subtask of how many it is (for the
  // check of StageSpec::partitioned_input and its message).
  uint32_t first_key_group = 0;
  uint32_t last_key_group = kDefaultMaxParallelism - 1;
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  // Entries the keyed-state cache keeps in the isolate before it evicts to the StateBackend.
  uint32_t state_cache_entries = 100000;
  // The longest JSON an output record may have when it leaves as a JSON line (to a sink, or on
  // a JSON-lines exchange edge); 0: no limit.
  uint64_t max_record_bytes = 0;
  // The chain's StateBackend was restored from a checkpoint: Create() loads the keyed
  // operators' timers from it (keyed stage j's in table 2j + 1, its state in table 2j).
  bool restore_state = false;
};

// The keyed-state store a chain reads and writes (worker/state/state_backend.h).
using StateBackend = state::StateBackend;

struct Limits {
  uint32_t call_timeout_ms = 10000;  // longest one RunGenerated/RunText call may take
  // The isolate's heap limit; the contents of its ArrayBuffers and typed arrays may take as
  // much again (they live outside the heap, within a budget of their own).
  uint32_t heap_limit_mb = 256;
};

// Create() refuses a heap limit below kMinHeapLimitMb (common/cluster_limits.h).

// Event time in epoch milliseconds; these two stand for -Infinity (no watermark yet) and
// +Infinity (the end of input: every timer fires).
constexpr int64_t kMinWatermark = INT64_MIN;
constexpr int64_t kMaxWatermark = INT64_MAX;

struct BatchResult {
  uint64_t records_in = 0;   // records that entered the chain (after the source)
  uint64_t records_out = 0;  // records that left the last stage
  // The chain's output watermark when it advanced in this call (send it downstream after the
  // records), and the chain's output idleness when it changed.
  std::optional<int64_t> watermark;
  std::optional<bool> idle;
  // Records the chain's windows found too late, so far (cumulative): dropped, and sent to the
  // late side output.
  uint64_t late_dropped = 0;
  uint64_t late_side_output = 0;
  std::string json_lines;    // with OutputMode::kJsonLines
  // With OutputMode::kPartitioned: partitions[edge][target] holds the batch for that
  // downstream subtask ("" when none): JSON lines, or a columnar batch (first byte 0x01, see
  // ChainSpec::codec) that RunText of a "json" chain decodes; records_out counts records once,
  // before fan-out.
  std::vector<std::vector<std::string>> partitions;
};

// `lines` (whole JSON lines) led by the codec's frame of their event times, one per line
// (event_times.h); what RunTextWithTimes hands to RunText.
std::string FrameEventTimes(std::string_view lines,
                            const std::vector<std::optional<int64_t>>& times);

// A compiled chain in its own isolate and context. Created on a task's thread by a
// ChainRunnerFactory and used only on that thread afterwards, except Interrupt(), which any
// thread may call. Owned by the task; destroying it disposes the isolate.
//
// Errors: a JS exception, a call over the time limit and an isolate over its heap limit are
// user-domain Statuses whose message names the operator (name and id) and, for exceptions,
// the JS message and the line within the user's function, e.g.
//   operator 'parse' (op2): TypeError: Cannot read ... (line 3 of the function)
// Codes: kInvalidArgument for exceptions, kDeadlineExceeded for the time limit,
// kResourceExhausted for the heap limit. After a time-limit or heap-limit failure the runner
// is broken: every later call returns the same Status; destroy it.
class ChainRunner {
 public:
  virtual ~ChainRunner() = default;

  // Generates the records of indexes first, first + stride, ... (`count` of them) with the
  // chain's source stage and runs them through the rest of the chain in one call into V8.
  virtual Result<BatchResult> RunGenerated(int64_t first, int64_t stride, int32_t count) = 0;

  // Runs the records in `text` (whole lines, each ending in '\n') through the chain in one
  // call into V8. With text_format "json", `text` may also be a columnar batch (a partition
  // of a kPartitioned chain whose first byte is 0x01, which no JSON line starts with).
  // `input` is the input the batch arrived on (1: a join's second input).
  virtual Result<BatchResult> RunText(std::string_view text, uint32_t input = 0) = 0;

  // RunText for JSON lines that carry their event times, one per line (nullopt: none): the
  // times travel with the lines in the codec's own frame (event_times.h), which only worker/js
  // writes; the chain's records get them as their event times.
  virtual Result<BatchResult> RunTextWithTimes(std::string_view lines,
                                               const std::vector<std::optional<int64_t>>& times,
                                               uint32_t input = 0) {
    return RunText(FrameEventTimes(lines, times), input);
  }

  // Moves time on: the chain's input watermark to `watermark` when given (and greater than
  // before; kMaxWatermark at the end of input) and processing time to `now_ms`; timers that
  // come due fire and what they emit is the result. Also where an assign_timestamps stage
  // notices that its input went idle.
  virtual Result<BatchResult> AdvanceTime(std::optional<int64_t> watermark, int64_t now_ms) = 0;

  // Sends on what the chain holds back across calls: a combiner's partial accumulators, which
  // wait until the watermark the task sends reaches one of their windows (runtime/combiner.js).
  // Called before the task forwards a checkpoint's barrier, so that the barrier finds nothing
  // held. nullopt when nothing was held.
  virtual Result<std::optional<BatchResult>> Release() { return std::optional<BatchResult>(); }

  // Checkpoints: makes the chain's keyed state whole in its StateBackend: writes the keyed
  // operator's timers (table 1) and flushes the state cache, so that a checkpoint of the
  // backend taken right after holds everything. Does nothing without keyed state.
  virtual Status SnapshotState() = 0;
  // The same in parts, so that a checkpoint's synchronous part does not grow with the state:
  // BeginSnapshot() at the barrier (the backend frozen) takes a copy-on-write view of the
  // cache's dirty entries and the timers' changes; ContinueSnapshot(budget) between batches
  // writes up to `budget` of them to the backend's snapshot layer, true once all are written
  // (the backend then holds the state at the barrier); AbortSnapshot() gives a checkpoint up.
  // The defaults do it all at the barrier.
  virtual Status BeginSnapshot() { return SnapshotState(); }
  virtual Result<bool> ContinueSnapshot(size_t budget) {
    (void)budget;
    return true;
  }
  virtual void AbortSnapshot() {}

  // Stops a call in progress (from any thread); that call returns a kCancelled Status.
  // Sticky: every later call returns kCancelled too, so an Interrupt() that lands between two
  // calls is not lost.
  virtual void Interrupt() = 0;
};

// Compiles chains into runners. Thread-safe; one per process.
class ChainRunnerFactory {
 public:
  virtual ~ChainRunnerFactory() = default;

  // Compiles the chain once. Must be called on the thread that will use the runner.
  // `state` backs the chain's keyed state (nullptr: kept in the isolate only); it must outlive
  // the runner.
  virtual Result<std::unique_ptr<ChainRunner>> Create(const ChainSpec& chain,
                                                      const Limits& limits,
                                                      StateBackend* state = nullptr) = 0;

  // Checks that `source` compiles as a JS function expression without running it. The
  // Status message has the JS syntax error and its line within the function. Create() also
  // refuses a source whose value is not a function.
  virtual Status CheckFunction(const std::string& source) = 0;
};

// The V8 implementation; initialises V8 on first use.
ChainRunnerFactory& V8Engine();

}  // namespace sluice::js
