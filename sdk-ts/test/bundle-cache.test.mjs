// The bundle cache's folder bound (dist/cli/bundle-cache.js); what makes an entry valid is tested
// through the real `sluice run` in tests/e2e/job_cache.test.mjs.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { MAX_ENTRIES, openSlot, readBundle, writeBundle } from "../dist/cli/bundle-cache.js";

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
