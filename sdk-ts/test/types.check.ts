// Type-level tests, checked by `npm test` with tsc (test/tsconfig.json): record types flow
// through the stream, params are typed from the job's options, and misuse does not compile.
// Every @ts-expect-error line fails the check if that misuse ever starts to compile.
import { Job, sinks, sources, type KafkaRecord, type NexmarkEvent, type Stream } from "../dist/index.js";

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}
type P = { threshold: number; label: string };

const job = new Job("types", { params: { threshold: 10, label: "x" } });

const lines = job.source(sources.file({ path: "in.txt" }));
assertType<Equal<typeof lines, Stream<string, P>>>();

const words = lines.flatMap((line) => line.split(" "));
const counts = words.map((w, params) => ({ word: w, n: w.length + params.threshold }));
assertType<Equal<typeof words, Stream<string, P>>>();
assertType<Equal<typeof counts, Stream<{ word: string; n: number }, P>>>();
const big = counts.filter((r, params) => r.n > params.threshold);
assertType<Equal<typeof big, typeof counts>>();
big.map((r) => r.word.toUpperCase()).name("upper").parallelism(2).sink(sinks.stdout());

// @ts-expect-error params has no such field
words.map((w, params) => params.missing);
// @ts-expect-error a string record has no .price
words.filter((w) => w.price > 1);
// @ts-expect-error flatMap must return an iterable
words.flatMap((w) => w.length);

const json = job.source(sources.file<{ id: number }>({ path: "in.jsonl", format: "json" }));
assertType<Equal<typeof json, Stream<{ id: number }, P>>>();
json.map((r) => r.id + 1).sink(sinks.discard());
const unknownJson = job.source(sources.file({ path: "in.jsonl", format: "json" }));
// @ts-expect-error JSON records are unknown until typed
unknownJson.map((r) => r.id);
unknownJson.sink(sinks.discard());

// keyBy's options: partitioned is a boolean, and nothing else is an option.
counts.keyBy((r) => r.word).reduce((a, b) => ({ word: a.word, n: a.n + b.n }))
  .keyBy((r) => r.word, { partitioned: true }).reduce((a) => a).sink(sinks.discard());
// @ts-expect-error partitioned is a boolean
counts.keyBy((r) => r.word, { partitioned: "yes" });
// @ts-expect-error keyBy has no option "partition"
counts.keyBy((r) => r.word, { partition: true });

const numbers = job.source(sources.generator({ count: 10 }));
numbers.map((i) => i.toFixed(1)).sink(sinks.discard());
const made = job.source(sources.generator({ count: 3, fn: (i) => ({ i, even: i % 2 === 0 }) }));
assertType<Equal<typeof made, Stream<{ i: number; even: boolean }, P>>>();
made.filter((r) => r.even).map((r) => r.i * 2).sink(sinks.collect());

// Nexmark records are a union narrowed by `type`; a type-guard filter narrows the stream.
const events = job.source(sources.nexmark({ events: 100 }));
assertType<Equal<typeof events, Stream<NexmarkEvent, P>>>();
const bids = events.filter((e): e is Extract<NexmarkEvent, { type: "bid" }> => e.type === "bid");
assertType<Equal<typeof bids, Stream<Extract<NexmarkEvent, { type: "bid" }>, P>>>();
bids.map((b) => b.price * 2 + b.auction).sink(sinks.discard());
// @ts-expect-error a person has no price, so the union has none either
events.map((e) => e.price);

// sink() returns the job; run() and submit() are typed by the caller.
const ended: Job<P> = made.sink(sinks.discard());
async function use(): Promise<void> {
  const results: { i: number }[] = await ended.run<{ i: number }>();
  const handle = await ended.submit<number>({ coordinator: "127.0.0.1:7070", timeout: "2s" });
  const all: number[] = await handle.results();
  const state: "created" | "running" | "finished" | "canceled" | "failed" = (await handle.status()).state;
  void results, all, state;
}
void use;

// @ts-expect-error durations are numbers or strings with a unit
new Job("bad", { checkpointInterval: "10 seconds" });
new Job("ok", { checkpointInterval: "10s", callTimeout: 500 });
// @ts-expect-error sinks go to sink(), not source()
job.source(sinks.stdout());

// Connector sinks: the function's record and params types come from the stream.
const keyed = made.map((r) => ({ key: `k${r.i}`, count: r.i }));
keyed.sink(sinks.redis({ address: "127.0.0.1:6379", command: (r, params) => ["SET", r.key, r.count + params.threshold] }));
keyed.sink(sinks.redis({ address: "h:1", command: (r) => [["HSET", "h", r.key, r.count], ["EXPIRE", "h", 60]] }));
keyed.sink(sinks.redis({ address: "h:1", command: (r) => (r.count > 0 ? ["SET", r.key, r.count] : null) }));
// @ts-expect-error the record has no .missing
keyed.sink(sinks.redis({ address: "h:1", command: (r) => ["SET", r.missing, 1] }));
// @ts-expect-error a command's arguments are strings or numbers
keyed.sink(sinks.redis({ address: "h:1", command: (r) => ["SET", r.key, { n: r.count }] }));
// @ts-expect-error a command starts with its name
keyed.sink(sinks.redis({ address: "h:1", command: (r) => [r.count, r.key] }));
keyed.sink(
  sinks.mysql({
    host: "127.0.0.1",
    user: "u",
    database: "d",
    statement: "INSERT INTO t (k, n) VALUES (?, ?)",
    params: (r, params) => [r.key, r.count, params.label].slice(0, 2),
  }),
);
keyed.sink(
  sinks.mysql({
    host: "h",
    user: "u",
    database: "d",
    statement: "INSERT INTO t VALUES (?)",
    params: (r) => [r.key],
    guarantee: "exactly-once",
    commitTable: "ops.commits",
  }),
);
// @ts-expect-error the guarantee is "at-least-once" or "exactly-once"
keyed.sink(sinks.mysql({ host: "h", user: "u", database: "d", statement: "INSERT INTO t VALUES (?)", params: (r) => [r.key], guarantee: "once" }));
// @ts-expect-error params must return an array of values
keyed.sink(sinks.mysql({ host: "h", user: "u", database: "d", statement: "INSERT INTO t VALUES (?)", params: (r) => r.key }));
// @ts-expect-error the statement is required
keyed.sink(sinks.mysql({ host: "h", user: "u", database: "d", params: (r) => [r.key] }));
// A sink written for other records does not fit this stream.
const forNumbers = sinks.redis<number>({ address: "h:1", command: (n) => ["SET", "n", n] });
// @ts-expect-error the stream's records are not numbers
keyed.sink(forNumbers);
numbers.sink(forNumbers);
// Kafka: the format decides the record type; sink functions take the record type they declare.
const kafkaLines = job.source(sources.kafka({ brokers: "k:9092", topic: "t" }));
assertType<Equal<typeof kafkaLines, Stream<string, P>>>();
const kafkaJson = job.source(sources.kafka<{ id: number }>({ brokers: "k:9092", topics: ["t"], format: "json" }));
assertType<Equal<typeof kafkaJson, Stream<{ id: number }, P>>>();
const kafkaBytes = job.source(sources.kafka({ brokers: "k:9092", topic: "t", format: "bytes" }));
assertType<Equal<typeof kafkaBytes, Stream<KafkaRecord, P>>>();
kafkaBytes.map((m) => m.offset + m.partition).sink(sinks.discard());
kafkaJson.sink(sinks.kafka({ brokers: "k:9092", topic: "o", key: (r: { id: number }) => r.id, partition: (r: { id: number }) => r.id % 2 }));
kafkaJson.sink(sinks.kafka({ brokers: "k:9092", topic: "o", guarantee: "exactly-once", commitTopic: "markers" }));
// @ts-expect-error the guarantee is "at-least-once" or "exactly-once"
sinks.kafka({ brokers: "k:9092", topic: "o", guarantee: "exactly_once" });
// @ts-expect-error a partition function returns a number
sinks.kafka({ brokers: "k:9092", topic: "o", partition: (r: { id: number }) => String(r.id) });
// @ts-expect-error startFrom is "earliest", "latest" or { timestamp }
sources.kafka({ brokers: "k:9092", topic: "t", startFrom: "now" });
// Watermarks take durations; the record type stays the format's.
const kafkaTimed = job.source(
  sources.kafka<{ id: number }>({ brokers: "k:9092", topic: "t", format: "json", watermarks: { maxOutOfOrderness: "2s", idleTimeout: 500 } }),
);
assertType<Equal<typeof kafkaTimed, Stream<{ id: number }, P>>>();
// @ts-expect-error a duration is a number or a string like "2s"
sources.kafka({ brokers: "k:9092", topic: "t", watermarks: { maxOutOfOrderness: "2 seconds" } });
// @ts-expect-error watermarks has no such option
sources.kafka({ brokers: "k:9092", topic: "t", watermarks: { lateness: 5 } });

// sinks.file's overwrite is a boolean; sources.file's maxLineBytes a number.
sinks.file({ path: "out.jsonl", overwrite: true });
// @ts-expect-error overwrite is not a string
sinks.file({ path: "out.jsonl", overwrite: "yes" });
sources.file({ path: "in.txt", maxLineBytes: 4096 });
