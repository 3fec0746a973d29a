// The bundle cache's folder bound (dist/cli/bundle-cache.js); what makes an entry valid is tested
// through the real `sluice run` in tests/e2e/job_cache.test.mjs.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { FunctionMemoStore, MAX_ENTRIES, MAX_FUNCTION_RECORDS, openSlot, readBundle, writeBundle } from "../dist/cli/bundle-cache.js";

const SELF = fileURLToPath(import.meta.url);
let dir;
let saved;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-bundle-cache-test-"));
  saved = process.env.SLUICE_CACHE_DIR;
  process.env.SLUICE_CACHE_DIR = dir;
});
after(() => {
  if (saved === undefined) delete process.env.SLUICE_CACHE_DIR;
  else process.env.SLUICE_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

const slotOf = (i) => openSlot(`/jobs/job${i}.ts`, "/sdk/index.js", SELF, [SELF]);

test("past MAX_ENTRIES a write removes the least recently used entries; a read counts as a use", () => {
  const folder = join(dir, "bundles");
  for (let i = 0; i < MAX_ENTRIES; i++) {
    const slot = slotOf(i);
    writeBundle(slot, `export default ${i};`, []);
    // Entry i last used at second i: entry 0 is the oldest.
    utimesSync(slot.file, i, i);
  }
  assert.equal(readdirSync(folder).length, MAX_ENTRIES, "nothing removed up to the bound");
  assert.equal(readBundle(slotOf(0)), "export default 0;", "entry 0 read: now the most recent");
  writeBundle(slotOf(MAX_ENTRIES), "export default -1;", []);
  const left = readdirSync(folder);
  assert.ok(left.length < MAX_ENTRIES, `bounded: ${left.length}`);
  assert.equal(readBundle(slotOf(0)), "export default 0;", "the entry just read stays");
  assert.equal(readBundle(slotOf(MAX_ENTRIES)), "export default -1;", "the entry just written stays");
  assert.equal(readBundle(slotOf(1)), undefined, "the least recently used went");
  assert.equal(readBundle(slotOf(MAX_ENTRIES - 1)), `export default ${MAX_ENTRIES - 1};`, "the recent ones stay");
  assert.ok(left.every((n) => n.endsWith(".json")), "no temporary file left");
});

test("SLUICE_CACHE=off gives no slot", () => {
  process.env.SLUICE_CACHE = "off";
  try {
    assert.equal(slotOf(0), undefined);
  } finally {
    delete process.env.SLUICE_CACHE;
  }
  assert.notEqual(slotOf(0), undefined);
});

test("a function record counts only for the same content of the code that made it", async () => {
  const code = [join(dir, "functions.js"), join(dir, "globals.js")];
  const settle = () => new Promise((r) => setTimeout(r, 30)); // past the 20 ms window
  writeFileSync(code[0], "analysis 1");
  writeFileSync(code[1], "globals 1");
  await settle();
  const result = { source: "(x) => x", problems: [] };
  const first = new FunctionMemoStore(undefined, Date.now());
  assert.equal(first.get(code, "(x) => x"), undefined);
  assert.equal(first.toKeep(), undefined, "nothing new: nothing to write");
  first.set(code, "(x) => x", result);
  const kept = first.toKeep();
  assert.deepEqual(new FunctionMemoStore(kept, Date.now()).get(code, "(x) => x"), result);
  assert.equal(new FunctionMemoStore(kept, Date.now()).get(code, "(y) => y"), undefined);
  assert.equal(new FunctionMemoStore(kept, Date.now()).get([code[0]], "(x) => x"), undefined, "other files");

  writeFileSync(code[1], "globals 2");
  const racy = new FunctionMemoStore(kept, Date.now());
  assert.equal(racy.get(code, "(x) => x"), undefined, "a file changed just now: no record is used");
  racy.set(code, "(x) => x", result);
  assert.equal(racy.toKeep(), undefined, "... nor made");
  await settle();
  assert.equal(new FunctionMemoStore(kept, Date.now()).get(code, "(x) => x"), undefined, "changed code");
  assert.equal(new FunctionMemoStore(kept, Date.now()).get([...code, join(dir, "absent.js")], "(x) => x"), undefined);
});

test("function records: those of earlier compiles stay, up to MAX_FUNCTION_RECORDS; past it, this compile's alone", async () => {
  const code = [join(dir, "analysis.js")];
  writeFileSync(code[0], "analysis");
  await new Promise((r) => setTimeout(r, 30));
  const result = (i) => ({ source: `(x) => x + ${i}`, problems: [] });
  let kept;
  for (let i = 0; i < MAX_FUNCTION_RECORDS; i++) {
    const store = new FunctionMemoStore(kept, Date.now());
    assert.equal(store.get(code, `(x) => x + ${i}`), undefined);
    store.set(code, `(x) => x + ${i}`, result(i));
    kept = store.toKeep() ?? kept;
  }
  const [fp] = Object.keys(kept);
  assert.equal(Object.keys(kept[fp]).length, MAX_FUNCTION_RECORDS);
  const store = new FunctionMemoStore(kept, Date.now());
  assert.deepEqual(store.get(code, "(x) => x + 0"), result(0));
  assert.equal(store.toKeep(), undefined, "only lookups: the entry stays");
  store.set(code, "(x) => x + new", result("new"));
  assert.deepEqual(Object.keys(store.toKeep()[fp]).sort(), ["(x) => x + 0", "(x) => x + new"]);
});
