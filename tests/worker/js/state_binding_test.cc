// runtime/state.js in a real isolate, through v8_state_binding, against RocksStateBackend and a
// fake backend.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "tests/worker/js/v8_test_util.h"
#include "worker/js/runtime/runtime_sources.h"
#include "worker/js/v8_state_binding.h"
#include "worker/state/rocks_state_backend.h"
#include "tests/common/temp_dir.h"

namespace sluice::js {
namespace {

using testing::ScratchIsolate;

// A backend over a map; Get and Write fail with `fail` when it is set.
class FakeBackend final : public StateBackend {
 public:
  Result<std::optional<std::string>> Get(uint32_t table, uint32_t key_group,
                                         std::string_view key) override {
    if (!fail.ok()) return fail;
    auto it = entries.find({table, key_group, std::string(key)});
    if (it == entries.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Write(const std::vector<Mutation> &mutations) override {
    if (!fail.ok()) return fail;
    ++writes;
    for (const Mutation &m : mutations) {
      if (m.value.has_value()) {
        entries[{m.table, m.key_group, m.key}] = *m.value;
      } else {
        entries.erase({m.table, m.key_group, m.key});
      }
    }
    return Status::Ok();
  }

  std::map<std::tuple<uint32_t, uint32_t, std::string>, std::string> entries;
  Status fail;
  int writes = 0;
};

// Runs `script` (a function expression) as fn(StateTables, native) and returns its result as a
// string, or the exception's message. The backend's last failure goes to `*backend_error`.
std::string RunWithState(ScratchIsolate &js, StateBackend *backend, const std::string &script,
                         Status *backend_error = nullptr) {
  Result<v8::Local<v8::Value>> library = js.Run(runtime::RuntimeJs("state"), "state.js");
  if (!library.ok()) return "<state.js: " + library.status().message() + ">";
  v8::Local<v8::Value> tables_class = library->As<v8::Object>()
                                          ->Get(js.context(), V8String(js.isolate(), "StateTables"))
                                          .ToLocalChecked();
  v8::Local<v8::Value> native = v8::Null(js.isolate());
  // The script uses `native` only while it runs.
  StateBinding binding{backend, Status::Ok()};
  if (backend != nullptr) {
    Result<v8::Local<v8::Object>> made = NewStateNative(js.context(), &binding);
    if (!made.ok()) return "<binding: " + made.status().message() + ">";
    native = *made;
  }
  Result<v8::Local<v8::Value>> fn = js.Run("(" + script + ")", "test-script");
  if (!fn.ok()) return "<compile: " + fn.status().message() + ">";
  v8::Local<v8::Value> args[] = {tables_class, native};
  Result<v8::Local<v8::Value>> out = js.Call(*fn, 2, args);
  if (backend_error != nullptr) *backend_error = binding.error;
  if (!out.ok()) return "<threw: " + out.status().message() + ">";
  return StdString(js.isolate(), *out);
}

class StateBindingTest : public ::testing::Test {
 protected:

  std::unique_ptr<state::RocksStateBackend> MustOpen(const std::vector<std::string> &tables) {
    state::RocksStateOptions options;
    options.block_cache_bytes = size_t{8} << 20;
    auto backend = state::RocksStateBackend::Open((root_ / "db").string(), tables, options);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    return backend.ok() ? std::move(backend).value() : nullptr;
  }

  sluice::testing::TempDir temp_{"sluice-state-binding"};
  std::filesystem::path root_ = temp_.path();
};

TEST_F(StateBindingTest, StateLargerThanTheCacheComesBackExactlyThroughRocksDb) {
  auto backend = MustOpen({"op3", "op5"});
  ASSERT_NE(backend, nullptr);
  ScratchIsolate js;
  // 50k keys in two tables through a 1k-entry cache: writes, read-modify-writes, deletions,
  // then every value read back, also by a fresh cache after a flush.
  const std::string result = RunWithState(js, backend.get(), R"((StateTables, native) => {
    const N = 50000;
    const tables = new StateTables(native, { cacheEntries: 1000 });
    const a = tables.table(0), b = tables.table(1);
    for (let i = 0; i < N; i++) {
      a.put(i % 128, "key" + i, { i, s: "välue " + i, tags: ["x", i % 3] });
      if (i % 5 === 0) b.put(i % 128, "key" + i, i);
    }
    for (let i = 0; i < N; i += 3) {
      const v = a.get(i % 128, "key" + i);
      if (i % 9 === 0) { a.delete(i % 128, "key" + i); continue; }
      v.s += "!";
      a.put(i % 128, "key" + i, v);
    }
    const expected = (i) => i % 9 === 0 ? undefined
        : JSON.stringify({ i, s: "välue " + i + (i % 3 === 0 ? "!" : ""), tags: ["x", i % 3] });
    let bad = 0;
    const check = (t) => {
      for (let i = 0; i < N; i++) {
        const v = t.table(0).get(i % 128, "key" + i);
        if ((v === undefined ? undefined : JSON.stringify(v)) !== expected(i)) bad++;
        if (t.table(1).get(i % 128, "key" + i) !== (i % 5 === 0 ? i : undefined)) bad++;
      }
    };
    check(tables);
    const stats = tables.stats();
    tables.flush();
    const fresh = new StateTables(native, { cacheEntries: 1000 });
    check(fresh);
    return JSON.stringify({ bad, bounded: stats.entries <= 1000, evicted: stats.evictions > N,
                            wrote: stats.writes > N });
  })");
  EXPECT_EQ(result, R"({"bad":0,"bounded":true,"evicted":true,"wrote":true})");

  // The values are in RocksDB as JSON, under (table, key group, key).
  Result<std::optional<std::string>> stored = backend->Get(0, 7 % 128, "key7");
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(*stored, R"({"i":7,"s":"välue 7","tags":["x",1]})");
  stored = backend->Get(0, 9 % 128, "key9");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, std::nullopt);
  size_t count = 0;
  ASSERT_TRUE(backend
                  ->ForEachInRange(1, 0, 127,
                                   [&](uint32_t, std::string_view, std::string_view) {
                                     ++count;
                                     return Status::Ok();
                                   })
                  .ok());
  EXPECT_EQ(count, 10000u);
}

TEST_F(StateBindingTest, KeysKeepTheirUtf8AndLoneSurrogatesStayDistinct) {
  auto backend = MustOpen({"op1"});
  ASSERT_NE(backend, nullptr);
  ScratchIsolate js;
  const std::string result = RunWithState(js, backend.get(), R"((StateTables, native) => {
    const tables = new StateTables(native, { cacheEntries: 10 });
    const t = tables.table(0);
    t.put(1, "ключ", "v1");
    t.put(1, "\uD800", "high");
    t.put(1, "\uDC00", "low");
    t.put(1, "a\u0000b", { nul: "\uD800" });
    tables.flush();
    const fresh = new StateTables(native, { cacheEntries: 10 }).table(0);
    return [fresh.get(1, "ключ"), fresh.get(1, "\uD800"), fresh.get(1, "\uDC00"),
            fresh.get(1, "a\u0000b").nul === "\uD800"].join(",");
  })");
  EXPECT_EQ(result, "v1,high,low,true");
  Result<std::optional<std::string>> stored = backend->Get(0, 1, "ключ");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, "\"v1\"");
  stored = backend->Get(0, 1, std::string_view("a\0b", 3));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, R"({"nul":"\ud800"})");
}

TEST_F(StateBindingTest, BackendErrorsThrowWithTheBackendsMessage) {
  FakeBackend backend;
  ScratchIsolate js;
  backend.fail = Status::External("state backend at /data/t1, table 'op1': IO error: disk full");
  EXPECT_EQ(RunWithState(js, &backend, R"((StateTables, native) => {
    const tables = new StateTables(native, { cacheEntries: 10 });
    try { tables.table(0).get(1, "k"); } catch (e) { return e.constructor.name + ": " + e.message; }
  })"),
            "Error: state backend at /data/t1, table 'op1': IO error: disk full");
  Status recorded;
  EXPECT_EQ(RunWithState(js, &backend, R"((StateTables, native) => {
    const tables = new StateTables(native, { cacheEntries: 10 });
    tables.table(0).put(1, "k", 1);
    try { tables.flush(); } catch (e) { return e.message; }
  })",
                         &recorded),
            "state backend at /data/t1, table 'op1': IO error: disk full");
  // The binding keeps the backend's Status for its owner, domain and all.
  EXPECT_EQ(recorded.domain(), ErrorDomain::kExternal);
  EXPECT_EQ(recorded.message(), backend.fail.message());

  // Once the backend works again, writes and reads go through.
  backend.fail = Status::Ok();
  EXPECT_EQ(RunWithState(js, &backend, R"((StateTables, native) => {
    native.write([0, 2, "k", "[1]", 1, 65535, "gone", null]);
    return String(native.get(0, 2, "k")) + "," + String(native.get(1, 65535, "gone"));
  })"),
            "[1],undefined");
  EXPECT_EQ(backend.writes, 1);
}

TEST_F(StateBindingTest, BadArgumentsAreTypeErrors) {
  FakeBackend backend;
  ScratchIsolate js;
  const std::string result = RunWithState(js, &backend, R"((StateTables, native) => {
    const attempts = [
      () => native.get(0, 1),
      () => native.get(-1, 1, "k"),
      () => native.get(0, 1.5, "k"),
      () => native.get(0, 1, 7),
      () => native.write([0, 1, "k"]),
      () => native.write([0, 1, "k", 5]),
      () => native.write("x"),
    ];
    return attempts.map((f) => { try { f(); return "ok"; } catch (e) { return e.name; } }).join();
  })");
  EXPECT_EQ(result, "TypeError,TypeError,TypeError,TypeError,TypeError,TypeError,TypeError");
  EXPECT_EQ(backend.writes, 0);
}

TEST_F(StateBindingTest, WithoutABackendStateJsIsAPlainStore) {
  ScratchIsolate js;
  EXPECT_EQ(RunWithState(js, nullptr, R"((StateTables, native) => {
    const tables = new StateTables(native, { cacheEntries: 5 });
    for (let i = 0; i < 100; i++) tables.table(0).put(0, "k" + i, i);
    tables.flush();
    return tables.table(0).get(0, "k42") + "," + tables.stats().entries;
  })"),
            "42,100");
}

}  // namespace
}  // namespace sluice::js
