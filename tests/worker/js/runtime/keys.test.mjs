// worker/js/runtime/keys.js: the integer fast path hashes exactly as the key's string would
// (every process must put a key into the same key group, whichever path it takes).
import assert from "node:assert/strict";
import test from "node:test";
import { execFileSync } from "node:child_process";
import { load } from "./helpers.mjs";

const keys = load("keys.js");

test("hashInteger(n) is hashString(String(n)) for safe integers", () => {
  const values = [0, -0, 1, -1, 9, 10, 99, 100, 101, 12345, -98765, 2 ** 31 - 1, 2 ** 31,
    -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 4294967295, 1e15, 2 ** 53 - 1, -(2 ** 53 - 1)];
  let x = 12345;
  for (let i = 0; i < 20000; i++) {  // deterministic spread over all magnitudes
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    values.push(x, -x, Math.floor((x / 4294967296) * 2 ** 53), x % 1000);
  }
  for (const n of values) {
    assert.equal(keys.hashInteger(n), keys.hashString(String(n)), `key ${n}`);
  }
});

test("keyGroupOf gives a number key the key group of its string", () => {
  for (const n of [0, 7, 1001, -42, 2 ** 40 + 3, 1.5, -0.25, 1e21, NaN, Infinity]) {
    assert.equal(keys.keyGroupOf(n, 128), keys.keyGroupOfString(String(n), 128), `key ${n}`);
    assert.equal(keys.keyGroupOf(n, 128), keys.keyGroupOf(String(n), 128), `key ${n}`);
  }
});

test("KeyMemo gives every key its key string and key group, in any order and repeated", () => {
  const memo = new keys.KeyMemo(128);
  const seq = [0, 5, 5, 63, 4095, 4096, -1, -0, 0, 1.5, 1.5, NaN, NaN, Infinity,
    1_700_000_010_000, 1_700_000_010_000, 1_700_000_012_000, "5", "a", "a", null, true,
    { a: 1 }, [1, 2], 5, 2 ** 53 + 2, 12345678901234567890n, 4095,
    // keys that share a slot of the table (key % 4,096), taking it from each other
    4101, 5, 8197, 4101, 5, 2 ** 32 - 1, 2 ** 32 - 1 - 4096, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 4095];
  let x = 7;
  for (let i = 0; i < 5000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    seq.push(x % 5000, x % 5000, x);
  }
  for (const key of seq) {
    const group = memo.group(key);
    const text = keys.keyString(key);
    assert.equal(memo.string, text, `key ${String(key)}`);
    assert.equal(group, keys.keyGroupOfString(text, 128), `key ${String(key)}`);
  }
  assert.throws(() => memo.group(undefined), /returned undefined/);
  assert.throws(() => memo.group(() => 1), /returned a function/);
});

// group() looks a number up in its table before asking whether it is a key the table keeps: no
// number may find an empty slot's marker, or another key's slot, equal to itself.
test("KeyMemo without strings: the same key groups, no string for keys 0 to 2^32 - 1", () => {
  const withStrings = new keys.KeyMemo(128), without = new keys.KeyMemo(128, false);
  const list = [0, 1, 7, 4096, 4097, 123456789, 2 ** 32 - 1, 2 ** 32, -5, 1.5, "x", "7", [1]];
  for (let round = 0; round < 3; round++) {
    for (const key of list) {
      assert.equal(without.group(key), withStrings.group(key), String(key));
      const integer = typeof key === "number" && (key >>> 0) === key;
      assert.equal(without.string, integer ? "" : withStrings.string, String(key));
    }
  }
});

test("KeyMemo: a fresh memo's empty slots match no key", () => {
  for (const key of [-1, -0, 0, -4097, 4095.5, 2 ** 32 + 4095, -(2 ** 31), NaN]) {
    const memo = new keys.KeyMemo(128);
    for (let i = 0; i < 2; i++) {
      const group = memo.group(key);
      assert.equal(memo.string, keys.keyString(key), `key ${String(key)}`);
      assert.equal(group, keys.keyGroupOfString(keys.keyString(key), 128), `key ${String(key)}`);
    }
  }
});

// Key groups are small integers that V8 keeps unboxed (Smis), also from optimized code: one
// returned as a boxed heap number and stored in the state cache's entries makes V8 box the key
// group of every entry (a field holds one representation), so that each lookup loads another
// object. Checked in a child process with V8's natives syntax, after the functions are optimized.
test("key groups are unboxed integers (Smis), also from optimized code", () => {
  const script = `
    const keys = load("keys.js");
    const memo = new keys.KeyMemo(128);
    const paths = {
      memoSlot: (n) => memo.group(n % 64),
      memoLast: (n) => memo.group(1700000000000 + (n >> 4) * 10000),
      memoString: (n) => memo.group("k" + (n % 300)),
      keyGroupOf: (n) => keys.keyGroupOf(n * 7919, 128),
      keyGroupOfString: (n) => keys.keyGroupOfString("s" + n, 128),
    };
    const boxed = [];
    for (const [name, f] of Object.entries(paths)) {
      const run = (from) => { const out = []; for (let n = from; n < from + 5000; n++) out.push(f(n)); return out; };
      %PrepareFunctionForOptimization(run);
      run(0); run(5000);
      %OptimizeFunctionOnNextCall(run);
      for (const g of run(10000)) if (!%IsSmi(g)) { boxed.push(name + " " + g); break; }
    }
    boxed.join("; ");`;
  const helpers = new URL("./helpers.mjs", import.meta.url).href;
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e",
    `import { load } from ${JSON.stringify(helpers)}; import vm from "node:vm";
     globalThis.load = load;
     process.stdout.write(String(vm.runInThisContext(${JSON.stringify(script)})));`],
  { encoding: "utf8" });
  assert.equal(out, "", "key groups boxed as heap numbers: " + out);
});
