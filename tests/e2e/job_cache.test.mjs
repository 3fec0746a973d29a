// The job compiler's bundle cache (sdk-ts/src/cli/bundle-cache.ts) through the real `sluice run`:
// a repeated run takes the bundle from the cache, and every change that could change the
// bundle or the job's result gives the new result.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { makeProject, sluice } from "./harness.mjs";

// The value a job's param `v` defaults to is what its one record prints.
const jobOf = (valueExpression, imports = "") => `
import { Job, sources, sinks } from "@sluice/sdk";
${imports}
const job = new Job("cached", { params: { v: ${valueExpression}, suffix: "" } });
job.source(sources.generator({ count: 1 })).map((n: number, p) => String(p.v) + p.suffix).sink(sinks.collect());
export default job;
`;

// A project and a cache folder of its own; `run(args, env)` runs the job and returns its one
// record (failing on anything else). Files are written through `write`, which waits until the
// clock has moved past the cache's 20 ms window for files changed just before a bundle.
async function withProject(files, body) {
  const project = makeProject({});
  const cache = mkdtempSync(join(tmpdir(), "sluice-cache-test-"));
  const write = async (name, text) => {
    const file = join(project.dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    await new Promise((r) => setTimeout(r, 30));
  };
  const run = async (args = [], env = {}) => {
    const result = await sluice(["run", "job.ts", ...args], { cwd: project.dir, env: { SLUICE_CACHE_DIR: cache, ...env } });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, result.stdout);
    return JSON.parse(lines[0]);
  };
  const entries = () => {
    try {
      return readdirSync(join(cache, "bundles")).filter((f) => f.endsWith(".json"));
    } catch {
      return [];
    }
  };
  try {
    for (const [name, text] of Object.entries(files)) await write(name, text);
    await body({ dir: project.dir, cache, write, run, entries });
  } finally {
    project.cleanup();
    rmSync(cache, { recursive: true, force: true });
  }
}

test("a repeated run takes the bundle from the cache; SLUICE_CACHE=off does not read it", async () => {
  await withProject({ "job.ts": jobOf(`"fresh"`) }, async ({ cache, run, entries }) => {
    assert.equal(await run(), "fresh");
    assert.equal(entries().length, 1, "one entry kept");
    // Change the kept bundle itself: a run that uses the cache prints what it now says.
    const file = join(cache, "bundles", entries()[0]);
    const entry = JSON.parse(readFileSync(file, "utf8"));
    assert.match(entry.code, /"fresh"/);
    entry.code = entry.code.replace('"fresh"', '"from-the-cache"');
    writeFileSync(file, JSON.stringify(entry));
    assert.equal(await run(), "from-the-cache");
    assert.equal(await run([], { SLUICE_CACHE: "off" }), "fresh");
  });
});

test("a changed job file, imported module or param gives the new result", async () => {
  await withProject(
    { "lib/value.ts": `export const value: string = "one";\n`, "job.ts": jobOf("value", `import { value } from "./lib/value";`) },
    async ({ write, run, entries }) => {
      assert.equal(await run(), "one");
      assert.equal(entries().length, 1);
      await write("lib/value.ts", `export const value: string = "two";\n`);
      assert.equal(await run(), "two", "the imported module changed");
      assert.equal(await run(["--param", "suffix=!"]), "two!", "a param is applied at every run");
      await write("job.ts", jobOf("value + '-job'", `import { value } from "./lib/value";`));
      assert.equal(await run(), "two-job", "the job file changed");
    },
  );
});

test("a new file that an import now resolves to gives the new result", async () => {
  await withProject(
    { "lib.js": `export const value = "from-js";\n`, "job.ts": jobOf("value", `import { value } from "./lib";`) },
    async ({ write, run, entries }) => {
      assert.equal(await run(), "from-js");
      assert.equal(entries().length, 1);
      // esbuild resolves "./lib" to lib.ts before lib.js.
      await write("lib.ts", `export const value: string = "from-ts";\n`);
      assert.equal(await run(), "from-ts");
    },
  );
});

test("a package's changed entry point and a tsconfig change give the new result", async () => {
  await withProject(
    {
      "node_modules/dep/package.json": `{ "name": "dep", "main": "a.js" }`,
      "node_modules/dep/a.js": `exports.value = "dep-a";\n`,
      "node_modules/dep/b.js": `exports.value = "dep-b";\n`,
      "job.ts": jobOf("value", `import { value } from "dep";`),
    },
    async ({ write, run, entries }) => {
      assert.equal(await run(), "dep-a");
      assert.equal(entries().length, 1);
      await write("node_modules/dep/package.json", `{ "name": "dep", "main": "b.js" }`);
      assert.equal(await run(), "dep-b");
    },
  );
  // A class field over a base class's setter: defined (the field wins) or assigned (the setter
  // runs), as tsconfig.json's useDefineForClassFields says.
  const classes = `class Base { seen = ""; set value(v: string) { this.seen = "setter:" + v; } get value() { return this.seen; } }
class Box extends Base { value = "boxed"; }`;
  await withProject({ "job.ts": jobOf("new Box().value", classes) }, async ({ write, run, entries }) => {
    assert.equal(await run(), "boxed");
    assert.equal(entries().length, 1);
    await write("tsconfig.json", `{ "compilerOptions": { "useDefineForClassFields": false } }`);
    assert.equal(await run(), "setter:boxed");
    assert.equal(entries().length, 1, "the same slot, rewritten");
  });
});

test("the environment a job file reads is read at every run", async () => {
  await withProject({ "job.ts": jobOf(`process.env.JOB_TAG ?? "none"`) }, async ({ run, entries }) => {
    assert.equal(await run([], { JOB_TAG: "a" }), "a");
    assert.equal(entries().length, 1);
    assert.equal(await run([], { JOB_TAG: "b" }), "b");
  });
});

test("bundles whose resolution could look elsewhere are not kept", async () => {
  await withProject(
    {
      "tsconfig.json": `{ "compilerOptions": { "baseUrl": "." } }`,
      "job.ts": jobOf(`"paths"`),
    },
    async ({ run, entries }) => {
      assert.equal(await run(), "paths");
      assert.deepEqual(entries(), []);
    },
  );
  await withProject({ "job.ts": jobOf(`typeof (await import(["node", "os"].join(":"))).cpus`) }, async ({ run, entries }) => {
    assert.equal(await run(), "function");
    assert.deepEqual(entries(), []);
  });
});
