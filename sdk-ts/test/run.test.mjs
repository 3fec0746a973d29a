// job.run(): how the `sluice` binary is found and called, checked with a fake binary that
// records its arguments; and a real end-to-end run when the binary has been built.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Job, sinks, sources } from "../dist/index.js";
import { findSluiceBinary, readResults, runArguments } from "../dist/run.js";

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-run-test-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake `sluice`: checks the contract, records what it got, behaves as the script says. */
function fakeBinary(name, body) {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test("the binary: the bin option, else $SLUICE_BIN, else ../build/cli/sluice, else PATH", () => {
  const root = join(dir, "repo", "sdk-ts");
  mkdirSync(root, { recursive: true });
  assert.deepEqual(findSluiceBinary("/opt/x/sluice", { SLUICE_BIN: "/env/sluice" }, root), { path: "/opt/x/sluice", source: "option" });
  assert.deepEqual(findSluiceBinary(undefined, { SLUICE_BIN: "/env/sluice" }, root), { path: "/env/sluice", source: "SLUICE_BIN" });
  assert.deepEqual(findSluiceBinary(undefined, {}, root), { path: "sluice", source: "PATH" });
  mkdirSync(join(dir, "repo", "build", "cli"), { recursive: true });
  writeFileSync(join(dir, "repo", "build", "cli", "sluice"), "");
  assert.deepEqual(findSluiceBinary(undefined, {}, root), { path: join(dir, "repo", "build", "cli", "sluice"), source: "build" });
  assert.deepEqual(findSluiceBinary(undefined, { SLUICE_BIN: "" }, root).source, "build");
});

test("the command line is `run <spec.json> --results <results.jsonl>`", () => {
  assert.deepEqual(runArguments("/t/job.json", "/t/r.jsonl"), ["run", "/t/job.json", "--results", "/t/r.jsonl"]);
});

test("results are JSON lines; a missing file is no records; a bad line is an error", async () => {
  const file = join(dir, "r.jsonl");
  writeFileSync(file, '1\n"two"\n{"three":3}\n\n');
  assert.deepEqual(await readResults(file), [1, "two", { three: 3 }]);
  assert.deepEqual(await readResults(join(dir, "none.jsonl")), []);
  writeFileSync(file, "1\n{oops\n");
  await assert.rejects(readResults(file), /not JSON \(line 2\): \{oops/);
});

test("run() hands the spec to the binary and resolves to the collected records", async () => {
  const log = join(dir, "args.txt");
  const bin = fakeBinary(
    "sluice-ok",
    `[ "$1" = run ] && [ "$3" = --results ] || exit 9
echo "$@" > ${log}
cp "$2" ${join(dir, "spec-seen.json")}
printf '0\\n10\\n{"x":20}\\n' > "$4"
echo progress >&2`,
  );
  const job = new Job("local");
  job.source(sources.generator({ count: 3 })).map((x) => x * 10).sink(sinks.collect());
  const records = await job.run({ bin, stdio: "ignore" });
  assert.deepEqual(records, [0, 10, { x: 20 }]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "spec-seen.json"), "utf8")), job.toSpec());
  const [cmd, specPath, flag, resultsPath] = readFileSync(log, "utf8").trim().split(" ");
  assert.equal(cmd, "run");
  assert.match(specPath, /\.json$/);
  assert.equal(flag, "--results");
  assert.match(resultsPath, /\.jsonl$/);
  assert.ok(!existsSync(specPath), "the temporary spec is removed afterwards");
});

test("run() of a job without a collect sink resolves to no records", async () => {
  const bin = fakeBinary("sluice-quiet", "exit 0");
  const job = new Job("no-collect");
  job.source(sources.generator({ count: 1 })).sink(sinks.stdout());
  assert.deepEqual(await job.run({ bin, stdio: "ignore" }), []);
});

test("run() rejects with the CLI's last line of standard error when it fails", async () => {
  const bin = fakeBinary("sluice-fails", "echo 'starting' >&2\necho \"operator 'map#2' (op2): TypeError: x is undefined\" >&2\nexit 1");
  const job = new Job("failing");
  job.source(sources.generator({ count: 1 })).map((x) => x.y.z).sink(sinks.collect());
  await assert.rejects(job.run({ bin, stdio: "ignore" }), (e) => {
    assert.equal(e.message, "operator 'map#2' (op2): TypeError: x is undefined");
    assert.equal(e.exitCode, 1);
    return true;
  });
  const silent = fakeBinary("sluice-silent", "exit 3");
  await assert.rejects(job.run({ bin: silent, stdio: "ignore" }), { message: "sluice run exited with code 3" });
});

test("run() says plainly when the binary cannot be started", async () => {
  const job = new Job("nobin");
  job.source(sources.generator({ count: 1 })).sink(sinks.collect());
  await assert.rejects(job.run({ bin: join(dir, "does-not-exist") }), /cannot start the sluice binary: no such file '.*does-not-exist'/);
});

test("run() refuses a job that cannot be built, before starting anything", async () => {
  const k = 2;
  const job = new Job("bad");
  job.source(sources.generator()).map((x) => x * k).sink(sinks.collect());
  await assert.rejects(job.run({ bin: join(dir, "does-not-exist") }), /refers to 'k'/);
});

const realBinary = findSluiceBinary(undefined);
const haveBinary = realBinary.source !== "PATH" && existsSync(realBinary.path);
if (!haveBinary) {
  console.log(`skipping the end-to-end run: no sluice binary (looked for $SLUICE_BIN and ${fileURLToPath(new URL("../../build/cli/sluice", import.meta.url))})`);
}

test("end to end: run() with the real sluice binary collects the records", { skip: haveBinary ? false : "no sluice binary built" }, async () => {
  const job = new Job("e2e", { params: { factor: 3 } });
  job
    .source(sources.generator({ count: 5 }))
    .map((i, params) => i * params.factor)
    .filter((x) => x % 2 === 0)
    .sink(sinks.collect());
  const records = await job.run({ stdio: "ignore" });
  assert.deepEqual([...records].sort((a, b) => a - b), [0, 6, 12]);
});
