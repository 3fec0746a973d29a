// sources.kafka and sinks.kafka: the config and functions they put into the JobSpec, and the
// arguments they refuse (each error names the builder and the argument).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Job, sinks, sources } from "../dist/index.js";

function specOf(build) {
  const job = new Job("kafka", { params: { suffix: "!" } });
  build(job);
  return job.toSpec();
}

test("sources.kafka and sinks.kafka become source.kafka and sink.kafka operators", () => {
  const spec = specOf((job) =>
    job
      .source(
        sources.kafka({
          brokers: ["127.0.0.1:9092", " 127.0.0.1:9093 "],
          topics: ["b", "a"],
          format: "json",
          startFrom: { timestamp: new Date(1700000000000) },
          bounded: true,
          properties: { "fetch.min.bytes": 1, "check.crcs": true },
        }),
      )
      .sink(
        sinks.kafka({
          brokers: "127.0.0.1:9092",
          topic: "out",
          key: (r) => r.id,
          value: (r, params) => r.text + params.suffix,
          partition: (r) => r.id % 3,
        }),
      ),
  );
  const [source, sink] = spec.operators;
  assert.equal(source.kind, "source.kafka");
  assert.deepEqual(JSON.parse(source.configJson), {
    brokers: "127.0.0.1:9092,127.0.0.1:9093",
    topics: ["b", "a"],
    format: "json",
    startFrom: { timestamp: 1700000000000 },
    bounded: true,
    properties: { "fetch.min.bytes": 1, "check.crcs": true },
  });
  assert.deepEqual(source.functions, {});
  assert.equal(sink.kind, "sink.kafka");
  assert.deepEqual(JSON.parse(sink.configJson), { brokers: "127.0.0.1:9092", topic: "out" });
  assert.deepEqual(sink.functions, {
    key: "(r) => r.id",
    value: "(r, params) => r.text + params.suffix",
    partition: "(r) => r.id % 3",
  });
});

test("sources.kafka defaults: one topic, the string format, no startFrom or bounded", () => {
  const spec = specOf((job) =>
    job.source(sources.kafka({ brokers: "k:9092", topic: "lines" })).sink(sinks.kafka({ brokers: "k:9092", topic: "out" })),
  );
  assert.deepEqual(JSON.parse(spec.operators[0].configJson), {
    brokers: "k:9092",
    topics: ["lines"],
    format: "string",
  });
  assert.deepEqual(spec.operators[1].functions, {});
});

test("sources.kafka refuses bad arguments, naming the argument", () => {
  const cases = [
    [{ topic: "t" }, /sources\.kafka: `brokers` must be/],
    [{ brokers: [], topic: "t" }, /`brokers` must be/],
    [{ brokers: "k:1" }, /exactly one of `topics` and `topic`/],
    [{ brokers: "k:1", topic: "t", topics: ["u"] }, /exactly one of `topics` and `topic`/],
    [{ brokers: "k:1", topics: [] }, /at least one topic/],
    [{ brokers: "k:1", topic: "no spaces" }, /topic "no spaces" is not a Kafka topic name/],
    [{ brokers: "k:1", topic: "t", format: "avro" }, /format "avro" is not "string", "json" or "bytes"/],
    [{ brokers: "k:1", topic: "t", startFrom: "now" }, /startFrom "now" is not "earliest", "latest" or \{ timestamp \}/],
    [{ brokers: "k:1", topic: "t", startFrom: { timestamp: -5 } }, /startFrom\.timestamp must be an integer >= 0/],
    [{ brokers: "k:1", topic: "t", bounded: "yes" }, /`bounded` must be a boolean/],
    [{ brokers: "k:1", topic: "t", properties: { a: {} } }, /property "a" must be a string, number or boolean/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => sources.kafka(options), message, JSON.stringify(options));
  }
});

test("sinks.kafka: the guarantee and commit topic go into the config", () => {
  const job = new Job("kafka-eo");
  job.source(sources.kafka({ brokers: "k:9092", topic: "in" }))
    .sink(sinks.kafka({ brokers: "k:9092", topic: "out", guarantee: "exactly-once", commitTopic: "markers" }));
  const sink = job.toSpec().operators.find((op) => op.kind === "sink.kafka");
  const config = JSON.parse(sink.configJson);
  assert.equal(config.guarantee, "exactly-once");
  assert.equal(config.commitTopic, "markers");
});

test("sources.kafka watermarks: durations in milliseconds; bad ones refused, naming the option", () => {
  const spec = specOf((job) =>
    job
      .source(sources.kafka({ brokers: "k:9092", topic: "t", watermarks: { maxOutOfOrderness: "2s", idleTimeout: 30000 } }))
      .sink(sinks.discard()),
  );
  assert.deepEqual(JSON.parse(spec.operators[0].configJson).watermarks, { maxOutOfOrderness: 2000, idleTimeout: 30000 });
  const empty = specOf((job) => job.source(sources.kafka({ brokers: "k:9092", topic: "t", watermarks: {} })).sink(sinks.discard()));
  assert.deepEqual(JSON.parse(empty.operators[0].configJson).watermarks, {});
  const cases = [
    [{ watermarks: "2s" }, /sources\.kafka: watermarks must be an object/],
    [{ watermarks: { maxOutOfOrderness: -1 } }, /sources\.kafka: watermarks\.maxOutOfOrderness: -1 is not a valid duration/],
    [{ watermarks: { idleTimeout: "soon" } }, /sources\.kafka: watermarks\.idleTimeout: "soon" is not a valid duration/],
    [{ watermarks: { idleTimeout: 0 } }, /sources\.kafka: watermarks\.idleTimeout must be more than 0 ms/],
    [{ watermarks: { lateness: "1s" } }, /sources\.kafka: watermarks: unknown option "lateness"/],
  ];
  for (const [extra, message] of cases) {
    assert.throws(() => sources.kafka({ brokers: "k:1", topic: "t", ...extra }), message, JSON.stringify(extra));
  }
});

test("sinks.kafka refuses bad arguments, naming the argument", () => {
  assert.throws(() => sinks.kafka({ brokers: "k:1", topic: "t", guarantee: "once" }), /sinks\.kafka: guarantee must be "at-least-once" or "exactly-once", got "once"/);
  assert.throws(() => sinks.kafka({ brokers: "k:1", topic: "t", commitTopic: "a b" }), /sinks\.kafka: commitTopic: topic "a b" is not a Kafka topic name/);
  assert.throws(() => sinks.kafka({ topic: "t" }), /sinks\.kafka: `brokers` must be/);
  assert.throws(() => sinks.kafka({ brokers: "k:1" }), /sinks\.kafka: topic undefined is not a Kafka topic name/);
  assert.throws(() => sinks.kafka({ brokers: "k:1", topic: "t", key: "id" }), /sinks\.kafka: `key` must be a function/);
  assert.throws(() => sinks.kafka({ brokers: "k:1", topic: "t", partition: 3 }), /`partition` must be a function/);
});

test("a sink function that captures a variable is refused when the job is built, naming it", () => {
  const field = "id";
  const job = new Job("captures");
  job
    .source(sources.kafka({ brokers: "k:1", topic: "t", format: "json" }))
    .sink(sinks.kafka({ brokers: "k:1", topic: "out", key: (r) => r[field] }), { name: "out" });
  assert.throws(() => job.toSpec(), (e) => {
    assert.match(e.message, /operator 'out' \(op2\) \(function 'key'\)/);
    assert.match(e.message, /field/);
    return true;
  });
});
