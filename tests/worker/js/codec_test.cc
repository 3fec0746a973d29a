// The exchange's columnar batch codec (runtime/codec.js): exactness against JSON lines, the
// fallback to JSON lines, and RunText decoding both formats.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/worker/js/test_util.h"
#include "worker/js/event_times.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::IsColumnar;
using testing::Lines;
using testing::MustCreate;
using testing::Received;
using testing::Stage;

TEST(EventTimesTest, FramesTheLinesWithTheirTimesAsTheCodecReadsThem) {
  EventTimes times;
  EXPECT_TRUE(times.empty());
  times.Add(5);
  times.Add(std::nullopt);
  EXPECT_EQ(times.Frame("{\"a\":1}\n{\"a\":2}\n"), "\x02[5,null]\n{\"a\":1}\n{\"a\":2}\n");
  times.Clear();
  EXPECT_TRUE(times.empty());
}

PartitionSpec Hash(uint32_t targets, std::string key_fn) {
  PartitionSpec edge;
  edge.partitioning = Partitioning::kHash;
  edge.targets = targets;
  edge.key_fn = std::move(key_fn);
  return edge;
}

PartitionSpec Broadcast(uint32_t targets) {
  PartitionSpec edge;
  edge.partitioning = Partitioning::kBroadcast;
  edge.targets = targets;
  return edge;
}

// Generated records full of JSON edge cases. Batches of 64 indexes share a mode: most modes give
// every record of the batch one shape (so the codec encodes columns), some break the shape on
// purpose (fallback to JSON lines, from the first record or in the middle of the batch).
constexpr char kEdgeCases[] = R"js((i) => {
  let x = (Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0;
  const rnd = (n) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
  const pick = (a) => a[rnd(a.length)];
  const finite = [0, -0, 1, -1, 1.5, 0.1, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 2 ** 53 + 2,
                  -1e300, 123456789012, 4294967296.5];
  const numbers = finite.concat([NaN, Infinity, -Infinity]);
  const strings = ["", "a", "bid", "\u00e9t\u00e9", "\u65e5\u672c", "\ud83d\ude00 smile", "\ud800",
                   "x\udc00y", "\udbff\ud800", "\"q\\", "\n\t\u0001\u001f", "\u2028\u2029",
                   "\u00ff", "\u0100", "long ".repeat(40), "1", "__proto__", "\u0000"];
  const channels = ["Google", "Facebook", "Baidu", "Apple", "channel-\u00e9"];
  const others = [true, false, null, {}, [], [1, "a", null], {x: {y: [1, {z: "\u00e9"}]}},
                  new Date(86400000 * i), {toJSON(k) { return "key:" + k; }}, new Number(3),
                  new String("s\ud800"), new Boolean(false), [undefined, Symbol("s")],
                  {u: undefined, f: 1, "2": 2, "10": 10}, Object.create(null)];
  const any = () => { const k = rnd(3); return k === 0 ? pick(numbers) : k === 1 ? pick(strings)
                                                                             : pick(others); };
  const mode = Math.floor(i / 64) % 11;
  switch (mode) {
    case 0:  // one shape, every type in every column: JSON columns
      return {a: any(), b: any(), c: any(), d: any()};
    case 1:  // one shape, typed columns (numbers, strings, dictionary, booleans, null, constant)
      return {type: "bid", n: pick(finite), s: pick(strings), ch: pick(channels),
              flag: rnd(2) === 0, none: null, id: i, price: i * 0.908};
    case 2:  // numeric-string keys, which JS orders first
      return {b: pick(strings), "1": pick(finite), "0": i, "10": rnd(2) === 0};
    case 3:  // now and then a field JSON omits: the batch falls back in the middle
      // (A function would fail the chain: README.md, "Records are JSON".)
      return {k: i, v: rnd(20) === 0 ? pick([undefined, Symbol("s"),
                                              {toJSON() { return undefined; }}]) : pick(strings)};
    case 4:  // nested values, Dates, toJSON with the key, boxed primitives
      return {when: new Date(1e12 + i), nested: pick(others), list: [i, pick(strings)],
              custom: {toJSON(k) { return k + i; }}, boxed: new String(pick(strings))};
    case 5:  // records that are no plain objects
      return pick([i, "s" + i, null, true, [i, {a: 1}], new Date(i), new Number(i),
                   {toJSON() { return [i]; }}]);
    case 6:  // the key order changes from record to record
      return rnd(2) === 0 ? {a: i, b: "x"} : {b: "x", a: i};
    case 7:  // null-prototype objects and class instances; non-finite numbers in a column
      if (rnd(4) === 0) return new (class Bid { constructor() { this.a = i; } })();
      { const o = Object.create(null); o.a = pick(numbers); o.b = i; return o; }
    case 8:  // no keys at all
      return {};
    case 9:  // groups (a window's {start, end}, a value object), now and then one that breaks
      switch (rnd(24)) {
        case 0: return {key: i, window: {end: i, start: 0}, value: pick(numbers)};  // key order
        case 1: return {key: i, window: {start: 0}, value: 1};                      // fewer keys
        case 2: return {key: i, window: new Date(i), value: 1};                     // not plain
        case 3: return {key: i, window: {start: any(), end: [1]}, value: 1};        // nested leaf
        case 4: return {key: i, window: {start: undefined, end: 1}, value: 1};      // omitted leaf
        case 5: return {key: i, window: null, value: {a: 1}};
        default:
          return {key: pick(strings), window: {start: 1e12 + i * 1000, end: pick(numbers)},
                  value: {auction: i, price: pick(finite), tag: pick(channels), ok: rnd(2) === 0,
                          none: null}};
      }
    default:  // one shape, numbers that are sometimes not finite
      return {k: i % 7, s: pick(strings), n: pick(numbers)};
  }
})js";

ChainSpec EdgeCaseChain(BatchCodec codec, uint32_t targets) {
  ChainSpec chain = Chain({Stage("op0", "records", "source.generator", kEdgeCases)},
                          OutputMode::kPartitioned);
  chain.outputs = {Hash(targets, "(r) => JSON.stringify(r).length % 5")};
  chain.codec = codec;
  return chain;
}

TEST(CodecTest, EveryRecordArrivesAsItsJsonAndInOrder) {
  auto json = MustCreate(EdgeCaseChain(BatchCodec::kJsonLines, 3));
  auto columnar = MustCreate(EdgeCaseChain(BatchCodec::kColumnar, 3));
  ASSERT_NE(json, nullptr);
  ASSERT_NE(columnar, nullptr);
  int columnar_batches = 0, json_batches = 0;
  for (int64_t first = 0; first < 64 * 40; first += 64) {
    Result<BatchResult> expected = json->RunGenerated(first, 1, 64);
    Result<BatchResult> actual = columnar->RunGenerated(first, 1, 64);
    ASSERT_TRUE(expected.ok()) << expected.status().message();
    ASSERT_TRUE(actual.ok()) << actual.status().message();
    EXPECT_EQ(actual->records_out, expected->records_out);
    for (uint32_t t = 0; t < 3; ++t) {
      const std::string &lines = expected->partitions[0][t];
      const std::string &batch = actual->partitions[0][t];
      if (lines.empty()) {
        EXPECT_EQ(batch, "");
        continue;
      }
      // What the receiver decodes, re-encoded, is the sender's JSON.stringify, line by line.
      EXPECT_EQ(Received(batch), lines) << "batch at " << first << ", target " << t;
      (IsColumnar(batch) ? columnar_batches : json_batches)++;
      if (!IsColumnar(batch)) EXPECT_EQ(batch, lines);
    }
  }
  // Both paths ran.
  EXPECT_GT(columnar_batches, 40);
  EXPECT_GT(json_batches, 15);
}

// The receiving side decodes a columnar batch like the JSON lines of the same records.
TEST(CodecTest, RunTextReadsBothFormatsIntoTheSameChain) {
  ChainSpec sender = Chain({Stage("op1", "parse", "map", "(r) => r")}, OutputMode::kPartitioned);
  sender.text_format = "json";
  sender.outputs = {Broadcast(1)};
  auto send = MustCreate(sender);
  ASSERT_NE(send, nullptr);
  const std::string input =
      "{\"k\":\"a\",\"n\":1,\"s\":\"\\u00e9\\ud83d\\ude00\"}\n"
      "{\"k\":\"b\",\"n\":2.5,\"s\":\"\\ud800\"}\n"
      "{\"k\":\"a\",\"n\":-3,\"s\":\"x\"}\n";
  Result<BatchResult> sent = send->RunText(input);
  ASSERT_TRUE(sent.ok()) << sent.status().message();
  const std::string &columnar = sent->partitions[0][0];
  ASSERT_TRUE(IsColumnar(columnar));

  ChainSpec receiver = Chain({Stage("op1", "sum", "reduce", "(a, r) => ({k: r.k, n: a.n + r.n, "
                                                             "s: a.s + r.s})")});
  receiver.text_format = "json";
  receiver.input_key_fn = "(r) => r.k";
  auto from_json = MustCreate(receiver);
  auto from_columns = MustCreate(receiver);
  ASSERT_NE(from_json, nullptr);
  ASSERT_NE(from_columns, nullptr);
  Result<BatchResult> a = from_json->RunText(input);
  Result<BatchResult> b = from_columns->RunText(columnar);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->json_lines, a->json_lines);
  EXPECT_EQ(b->records_in, 3u);
  // Then a JSON batch into the same runner.
  Result<BatchResult> c = from_columns->RunText("{\"k\":\"a\",\"n\":10,\"s\":\"\"}\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->json_lines, "{\"k\":\"a\",\"n\":8,\"s\":\"\xC3\xA9\xF0\x9F\x98\x80x\"}\n");
}

TEST(CodecTest, BroadcastSendsTheSameColumnarBatchToEveryTarget) {
  ChainSpec chain = Chain({}, OutputMode::kPartitioned);
  chain.text_format = "json";
  chain.outputs = {Broadcast(3)};
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("{\"a\":1}\n{\"a\":2}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_TRUE(IsColumnar(batch->partitions[0][0]));
  EXPECT_EQ(batch->partitions[0][1], batch->partitions[0][0]);
  EXPECT_EQ(batch->partitions[0][2], batch->partitions[0][0]);
  EXPECT_EQ(Received(batch->partitions[0][2]), "{\"a\":1}\n{\"a\":2}\n");
}

TEST(CodecTest, FallsBackToJsonLinesWhenRecordsDoNotShareAShape) {
  struct Case {
    const char *records;  // a JS array expression
    bool columnar;
  };
  const Case cases[] = {
      {"[{a: 1, b: 'x'}, {a: 2, b: 'y'}]", true},
      {"[{a: 1, b: 'x'}, {b: 'y', a: 2}]", false},       // key order
      {"[{a: 1}, {a: 1, b: 2}]", false},                 // more keys
      {"[{a: 1}, {a: undefined}]", false},               // a key JSON omits
      {"[{a: 1}, {a: Symbol('s')}]", false},             // a symbol value
      {"[{a: 1}, [1]]", false},                          // an array record
      {"[{a: 1}, 5]", false},                            // a primitive record
      {"[{a: 1}, new Date(0)]", false},                  // toJSON on the record
      {"[{a: 1}, {a: 2, toJSON() { return 3; }}]", false},
      {"[JSON.parse('{\"__proto__\": 1}')]", false},     // a key an object literal cannot make
      {"[{a: new Date(0)}, {a: [undefined]}]", true},    // nested values are JSON columns
      {"[{a: NaN}, {a: -0}, {a: Infinity}]", true},      // nulls and 0, as JSON has them
      {"[{'2': 1, '1': 'x', b: 0}]", true},
      {"[{k: 1, w: {s: 1, e: 2}}, {k: 2, w: {s: 3, e: -0}}]", true},  // a group
      {"[{k: 1, w: {s: 1, e: 2}}, {k: 2, w: {e: 3, s: 4}}]", true},  // ... then a JSON column
      {"[{k: 1, w: {s: 1}}, {k: 2, w: 'x'}, {k: 3, w: {s: NaN}}]", true},
      {"[{k: 1, w: {s: 1}}, {k: 2, w: {s: undefined}}]", true},
      {"[{k: 1, w: {s: 1}}, {k: 2, w: {s: 1}, x: 0}]", false},
      {"[{k: 1, w: {s: {toJSON(k) { return k; }}}}, {k: 2, w: {s: 1}}]", true},
  };
  for (const Case &c : cases) {
    ChainSpec chain = Chain({Stage("op1", "many", "flat_map", std::string("() => ") + c.records)},
                            OutputMode::kPartitioned);
    chain.outputs = {Broadcast(1)};
    ChainSpec lines = chain;
    lines.codec = BatchCodec::kJsonLines;
    auto runner = MustCreate(chain);
    auto reference = MustCreate(lines);
    ASSERT_NE(runner, nullptr);
    ASSERT_NE(reference, nullptr);
    Result<BatchResult> batch = runner->RunText("x\n");
    Result<BatchResult> expected = reference->RunText("x\n");
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    ASSERT_TRUE(expected.ok()) << expected.status().message();
    EXPECT_EQ(IsColumnar(batch->partitions[0][0]), c.columnar) << c.records;
    if (!c.columnar) EXPECT_EQ(batch->partitions[0][0], expected->partitions[0][0]) << c.records;
    EXPECT_EQ(Received(batch->partitions[0][0]), expected->partitions[0][0]) << c.records;
  }
}

TEST(CodecTest, AWindowsStartAndEndTravelAsNumberColumns) {
  // A window operator's output: {key, window: {start, end}, value}; the window is a group, so
  // its numbers are float64 columns rather than a JSON text per record.
  ChainSpec chain = Chain({Stage("op1", "windows", "flat_map",
                                 "() => [1, 2, 3].map((i) => ({key: 'k' + i, window: "
                                 "{start: 1e12 + i, end: 1e12 + i + 10}, value: i}))")},
                          OutputMode::kPartitioned);
  chain.outputs = {Broadcast(1)};
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("x\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  const std::string &frame = batch->partitions[0][0];
  ASSERT_TRUE(IsColumnar(frame));
  EXPECT_NE(frame.find(R"("g":[0,["start","end"],0])"), std::string::npos) << frame;
  EXPECT_NE(frame.find(R"("types":"dnnn")"), std::string::npos) << frame;
  EXPECT_EQ(Received(frame),
            "{\"key\":\"k1\",\"window\":{\"start\":1000000000001,\"end\":1000000000011},\"value\":1}\n"
            "{\"key\":\"k2\",\"window\":{\"start\":1000000000002,\"end\":1000000000012},\"value\":2}\n"
            "{\"key\":\"k3\",\"window\":{\"start\":1000000000003,\"end\":1000000000013},\"value\":3}\n");
}

TEST(CodecTest, ARecordOverTheSizeLimitFailsAtItsExactJsonLength) {
  // The window is a group (number columns) and "s" needs escaping: the bound the encoder checks
  // first is over the limit, so it measures the records' exact lines.
  const auto run = [](uint64_t limit) {
    ChainSpec chain = Chain({Stage("op1", "windows", "flat_map",
                                   "() => [1, 2].map((i) => ({s: '\\u0001'.repeat(i), "
                                   "window: {start: i, end: i + 10}}))")},
                            OutputMode::kPartitioned);
    chain.outputs = {Broadcast(1)};
    chain.max_record_bytes = limit;
    auto runner = MustCreate(chain);
    EXPECT_NE(runner, nullptr);
    return runner->RunText("x\n");
  };
  // {"s":"\u0001\u0001","window":{"start":2,"end":12}}: 50 characters.
  Result<BatchResult> fits = run(50);
  ASSERT_TRUE(fits.ok()) << fits.status().message();
  EXPECT_EQ(Received(fits->partitions[0][0]),
            "{\"s\":\"\\u0001\",\"window\":{\"start\":1,\"end\":11}}\n"
            "{\"s\":\"\\u0001\\u0001\",\"window\":{\"start\":2,\"end\":12}}\n");
  Result<BatchResult> over = run(49);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("'windows' (op1): RangeError: an output record's JSON "
                                         "is 50 characters long, over the cluster's limit of 49 "
                                         "bytes"),
            std::string::npos)
      << over.status().message();
  // Under a generous limit the batch stays columnar.
  Result<BatchResult> roomy = run(1000);
  ASSERT_TRUE(roomy.ok()) << roomy.status().message();
  EXPECT_TRUE(IsColumnar(roomy->partitions[0][0]));
}

TEST(CodecTest, RecordsAreEncodedWhenTheyLeaveTheChain) {
  // A reduce that mutates its accumulator emits the same object again and again.
  ChainSpec chain = Chain({Stage("op1", "count", "reduce", "(a, r) => { a.n += r.n; return a; }")},
                          OutputMode::kPartitioned);
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.outputs = {Broadcast(1)};
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText(
      "{\"k\":\"a\",\"n\":1,\"t\":{\"x\":1}}\n{\"k\":\"a\",\"n\":2,\"t\":{}}\n"
      "{\"k\":\"a\",\"n\":3,\"t\":[]}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_TRUE(IsColumnar(batch->partitions[0][0]));
  EXPECT_EQ(Received(batch->partitions[0][0]),
            "{\"k\":\"a\",\"n\":1,\"t\":{\"x\":1}}\n{\"k\":\"a\",\"n\":3,\"t\":{\"x\":1}}\n"
            "{\"k\":\"a\",\"n\":6,\"t\":{\"x\":1}}\n");
}

TEST(CodecTest, UnencodableValuesFailLikeJsonStringify) {
  for (const char *fn : {"(r) => ({a: 1, b: 2n})", "(r) => ({a: {b: 2n}})"}) {
    ChainSpec chain = Chain({Stage("op1", "big", "map", fn)}, OutputMode::kPartitioned);
    chain.outputs = {Broadcast(2)};
    ChainSpec lines = chain;
    lines.codec = BatchCodec::kJsonLines;
    auto runner = MustCreate(chain);
    auto reference = MustCreate(lines);
    ASSERT_NE(runner, nullptr);
    ASSERT_NE(reference, nullptr);
    Result<BatchResult> batch = runner->RunText("1\n");
    Result<BatchResult> expected = reference->RunText("1\n");
    ASSERT_FALSE(batch.ok());
    ASSERT_FALSE(expected.ok());
    EXPECT_EQ(batch.status().message(), expected.status().message());
  }
  // A record that is no JSON at all.
  ChainSpec chain = Chain({Stage("op1", "undef", "map", "(r) => undefined")},
                          OutputMode::kPartitioned);
  chain.outputs = {Broadcast(1)};
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("1\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("operator 'undef' (op1): TypeError: an output record "
                                          "is not JSON"),
            std::string::npos)
      << batch.status().message();
}

TEST(CodecTest, CorruptColumnarBatchesAreRefused) {
  ChainSpec sender = Chain({}, OutputMode::kPartitioned);
  sender.text_format = "json";
  sender.outputs = {Broadcast(1)};
  auto send = MustCreate(sender);
  ASSERT_NE(send, nullptr);
  Result<BatchResult> sent = send->RunText("{\"a\":\"xyz\",\"b\":1}\n{\"a\":\"q\",\"b\":2}\n");
  ASSERT_TRUE(sent.ok()) << sent.status().message();
  const std::string good = sent->partitions[0][0];
  ASSERT_TRUE(IsColumnar(good));

  ChainSpec receiver = Chain({}, OutputMode::kCount);
  receiver.text_format = "json";
  auto receive = MustCreate(receiver);
  ASSERT_NE(receive, nullptr);
  std::string truncated = good.substr(0, good.size() - 1);
  std::string version = good;
  version[1] = 9;
  std::string header = good;
  header[20] = '[';  // the header's JSON is no object now
  for (const std::string &bad : {truncated, version, header, std::string("\x01")}) {
    Result<BatchResult> batch = receive->RunText(bad);
    EXPECT_FALSE(batch.ok());
  }
  Result<BatchResult> batch = receive->RunText(good);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->records_in, 2u);
  // A "lines" chain takes the byte as text.
  ChainSpec lines = Chain({}, OutputMode::kJsonLines);
  auto as_lines = MustCreate(lines);
  ASSERT_NE(as_lines, nullptr);
  Result<BatchResult> text = as_lines->RunText("\x01x\n");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(text->json_lines, "\"\\u0001x\"\n");
}

TEST(CodecTest, KeptRecordsDoNotKeepTheirBatchAlive) {
  // Batches of 200 records, 199 of them with a 5,000-character string (a ~1 MB batch); the
  // receiver keeps the first record of each batch in keyed state. Were its strings slices of
  // the batch's strings, 100 batches would keep ~100 MB alive, over the receiver's 32 MB heap.
  ChainSpec sender = Chain({Stage("op0", "gen", "source.generator",
                                  "(i) => ({k: Math.floor(i / 200), s: i % 200 === 0 ? "
                                  "'kept-' + i + '-'.repeat(20) : 'x'.repeat(5000) + i})")},
                           OutputMode::kPartitioned);
  sender.outputs = {Broadcast(1)};
  auto send = MustCreate(sender);
  ChainSpec receiver = Chain({Stage("op1", "first", "reduce", "(a, r) => a")}, OutputMode::kCount);
  receiver.text_format = "json";
  receiver.input_key_fn = "(r) => r.k";
  Limits limits;
  limits.heap_limit_mb = 32;
  Result<std::unique_ptr<ChainRunner>> receive = V8Engine().Create(receiver, limits);
  ASSERT_NE(send, nullptr);
  ASSERT_TRUE(receive.ok()) << receive.status().message();
  for (int b = 0; b < 100; ++b) {
    Result<BatchResult> sent = send->RunGenerated(b * 200, 1, 200);
    ASSERT_TRUE(sent.ok()) << sent.status().message();
    ASSERT_TRUE(IsColumnar(sent->partitions[0][0]));
    Result<BatchResult> got = (*receive)->RunText(sent->partitions[0][0]);
    ASSERT_TRUE(got.ok()) << "batch " << b << ": " << got.status().message();
  }
}

TEST(CodecTest, WideAndTwoByteBatchesRoundTrip) {
  // 300 keys (over the codec's limit of 256: JSON lines) and UTF-16 strings in the blob.
  ChainSpec chain = Chain({Stage("op0", "gen", "source.generator",
                                 "(i) => { if (i % 2) { const o = {}; for (let k = 0; k < 300; "
                                 "k++) o['k' + k] = k * i; return o; } return null; }")},
                          OutputMode::kPartitioned);
  chain.outputs = {Broadcast(1)};
  auto wide = MustCreate(chain);
  ASSERT_NE(wide, nullptr);
  Result<BatchResult> batch = wide->RunGenerated(1, 2, 5);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_FALSE(IsColumnar(batch->partitions[0][0]));
  EXPECT_EQ(Lines(Received(batch->partitions[0][0])).size(), 5u);

  chain.stages[0].functions["fn"] =
      "(i) => ({s: String.fromCharCode(0xd800 + (i % 3), 0x3042 + i, 0xdc00), u: 'x'.repeat(i)})";
  auto utf16 = MustCreate(chain);
  ChainSpec lines = chain;
  lines.codec = BatchCodec::kJsonLines;
  auto reference = MustCreate(lines);
  ASSERT_NE(utf16, nullptr);
  ASSERT_NE(reference, nullptr);
  Result<BatchResult> a = utf16->RunGenerated(0, 1, 50);
  Result<BatchResult> b = reference->RunGenerated(0, 1, 50);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_TRUE(IsColumnar(a->partitions[0][0]));
  EXPECT_EQ(Received(a->partitions[0][0]), b->partitions[0][0]);
}

}  // namespace
}  // namespace sluice::js
