// The playground as a user drives it, in Debian's chromium (headless, through playwright-core;
// no browser is ever downloaded): the page loads from the coordinator, compiles every example
// to the same JobSpec as sluice-compile-job, shows a free variable at its line, runs a job and
// shows its graph, output and cancellation. Screenshots go to build/test-output/playground/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { startCluster, REPO } from "./harness.mjs";

const require = createRequire(join(REPO, "playground/package.json"));
const { chromium } = require("playwright-core");
const CHROMIUM = process.env.SLUICE_CHROMIUM ?? "/usr/bin/chromium";
const OUT = process.env.SLUICE_TEST_OUTPUT ?? join(REPO, "build/test-output/playground");
mkdirSync(OUT, { recursive: true });

let cluster;
let browser;
let page;
let loadMs;
const pageErrors = [];

before(async () => {
  cluster = await startCluster({ workers: 1, slots: 16 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.setDefaultTimeout(60000);  // a shared, busy machine
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  const start = Date.now();
  await page.goto(`http://${cluster.http}/`);
  await page.waitForFunction(() => document.getElementById("compile-state")?.textContent?.startsWith("compiled"), null, { timeout: 60000 });
  loadMs = Date.now() - start;
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

test("the page loads from the coordinator and compiles its first example", async () => {
  const weight = await page.evaluate(() => performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))
    .reduce((n, e) => n + (e.transferSize || 0), 0));
  console.log(`page load: ${loadMs} ms to a compiled example; ${(weight / 1048576).toFixed(2)} MB transferred`);
  assert.ok(await page.locator("#examples option").count() >= 10, "the examples menu lists the repository's examples and Nexmark queries");
  assert.equal(await page.locator(".cm-content").count(), 1);
  assert.ok(await page.locator(".cm-content .ͼb, .cm-content [class^='ͼ']").count() > 0, "TypeScript is highlighted");
  await page.screenshot({ path: join(OUT, "01-loaded.png") });
});

test("every example compiles in the page to the JobSpec sluice-compile-job makes", async () => {
  const examples = await page.evaluate(() => [...document.querySelectorAll("#examples option")].map((o) => o.value));
  const files = Object.fromEntries(examples.map((name) => {
    const [where, rest] = name.split("/");
    if (where === "examples") return [name, join(REPO, "examples", rest, "job.ts")];
    if (where === "nexmark") return [name, join(REPO, "bench/nexmark", `${rest}.ts`)];
    return [name, join(REPO, "playground/examples", `${rest}.ts`)];
  }));
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  for (const name of examples) {
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, "sdk-ts/dist/cli/compile-job.js"), files[name]], { cwd: "/", env });
    const expected = JSON.parse(stdout);
    const compiled = await page.evaluate((text) => globalThis.sluicePlayground.compile(text), readFileSync(files[name], "utf8"));
    assert.deepEqual(compiled.problems, [], `${name}: ${JSON.stringify(compiled)}`);
    assert.deepEqual(compiled.spec, expected, `${name}: the page's spec equals sluice-compile-job's`);
  }
});

test("a user picks an example, sees a free variable at its line, fixes it, runs, watches and cancels", async () => {
  await page.selectOption("#examples", "playground/counting-words");
  await page.waitForFunction(() => document.getElementById("compile-state")?.textContent?.startsWith("compiled"));
  const lineOf = async (text) => page.evaluate((t) => {
    const lines = [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent);
    return lines.findIndex((l) => l.includes(t)) + 1;
  }, text);
  const filterLine = await lineOf("params.minLength");
  assert.ok(filterLine > 0);
  // Introduce a free variable: minLength instead of params.minLength.
  const line = page.locator(".cm-content .cm-line", { hasText: "params.minLength" });
  await line.click();
  await page.keyboard.press("End");
  const text = await line.textContent();
  const column = text.length - text.indexOf("params.minLength");
  for (let i = 0; i < column; i++) await page.keyboard.press("ArrowLeft");
  for (let i = 0; i < "params.".length; i++) await page.keyboard.press("Delete");
  const problem = page.locator("#problems li");
  await problem.first().waitFor();
  assert.match(await problem.first().textContent(), new RegExp(`^line ${filterLine}: .*'minLength'`));
  await page.locator(".cm-lint-marker-error").first().waitFor();
  await page.screenshot({ path: join(OUT, "02-free-variable.png") });
  // Fix it.
  await page.keyboard.type("params.");
  await page.waitForFunction(() => document.querySelectorAll("#problems li").length === 0 &&
    document.getElementById("compile-state").textContent.startsWith("compiled"));
  // A problem only the coordinator finds (an operator's parallelism over the job's maximum)
  // shows at the line of the operator it names.
  const mapLine = await lineOf(".map((word");
  await page.locator(".cm-content .cm-line", { hasText: ".map((word" }).click();
  await page.keyboard.press("End");
  await page.keyboard.type(".parallelism(200)");
  await page.waitForFunction(() => document.getElementById("compile-state").textContent.startsWith("compiled") &&
    !document.getElementById("run").disabled);
  await page.click("#run");
  await page.waitForFunction(() => document.querySelectorAll("#problems li").length > 0);
  assert.match(await problem.first().textContent(), new RegExp(`^line ${mapLine}: operator .map#4. \\(op4\\): parallelism 200 exceeds`));
  await page.screenshot({ path: join(OUT, "02b-coordinator-problem.png") });
  await page.locator(".cm-content .cm-line", { hasText: ".parallelism(200)" }).click();
  await page.keyboard.press("End");
  for (let i = 0; i < ".parallelism(200)".length; i++) await page.keyboard.press("Backspace");
  await page.waitForFunction(() => document.querySelectorAll("#problems li").length === 0 &&
    document.getElementById("compile-state").textContent.startsWith("compiled"));
  await page.fill("#parallelism", "2");
  await page.waitForFunction(() => !document.getElementById("run").disabled);
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("job-state").textContent === "running", null, { timeout: 30000 });
  // The graph: generator -> flatMap -> filter -> map chained, keyBy -> reduce -> stdout after a hash exchange.
  await page.locator("#graph .task-group").nth(1).waitFor();
  assert.equal(await page.locator("#graph .task-group").count(), 2);
  const groups = await page.locator("#graph .task-group").evaluateAll((gs) => gs.map((g) => g.dataset.group));
  assert.match(groups[0], /^source\.generator#1 -> flatMap#2 -> filter#3 -> map#4$/);
  assert.match(groups[1], /reduce#5 -> sink\.stdout#6$/);
  assert.equal(await page.locator("#graph .edge-label").textContent(), "hash");
  assert.match(await page.locator("#graph .group-title").first().textContent(), /×2/);
  // Output rows arrive, rates show.
  await page.waitForFunction(() => document.querySelectorAll("#output tr").length >= 5, null, { timeout: 30000 });
  const row = JSON.parse(await page.locator("#output tr").first().textContent());
  await page.keyboard.press("Control+Home");
  assert.ok(typeof row.word === "string" && row.word.length >= 4 && row.count >= 1, JSON.stringify(row));
  await page.waitForFunction(() => /in [1-9]/.test(document.querySelector("#graph .rates")?.textContent ?? ""), null, { timeout: 30000 });
  await page.locator("#graph .task-group").first().click();
  await page.locator("#subtasks tbody tr").nth(1).waitFor();
  await page.screenshot({ path: join(OUT, "03-running.png") });
  await page.screenshot({ path: join(OUT, "readme.png") });
  // The jobs list has it; cancel it and watch the state change.
  await page.waitForFunction(() => document.querySelectorAll("#jobs tbody tr").length >= 1);
  await page.click("#cancel");
  await page.waitForFunction(() => document.getElementById("job-state").textContent === "canceled", null, { timeout: 20000 });
  assert.equal(await page.locator("#cancel").isDisabled(), true);
  await page.screenshot({ path: join(OUT, "04-canceled.png") });
  // The refused submission above is the only request that may fail.
  assert.deepEqual(pageErrors.filter((e) => !/status of 400 \(Bad Request\)/.test(e)), []);
});

test("a job reading a file the workers do not allow fails, and the page says why at the source's line", async () => {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText([
    'import { Job, sources, sinks } from "@sluice/sdk";',
    'const job = new Job("peek", { parallelism: 1 });',
    "job",
    '  .source(sources.file({ path: "/etc/passwd" }))',
    "  .map((line: string) => line.length)",
    "  .sink(sinks.stdout());",
    "export default job;",
  ].join("\n"));
  await page.waitForFunction(() => document.getElementById("compile-state").textContent.startsWith("compiled") &&
    document.querySelectorAll("#problems li").length === 0 && !document.getElementById("run").disabled);
  await page.fill("#parallelism", "1");
  const before = await page.locator("#job-title").textContent();
  await page.click("#run");
  // The new job, not the one shown before (which may have failed too).
  await page.waitForFunction((title) => document.getElementById("job-title").textContent !== title &&
    document.getElementById("job-state").textContent === "failed", before, { timeout: 30000 });
  const refusal = /input file '\/etc\/passwd' is outside the folders this worker allows \(.*\); allow one with the worker's --allow-path/;
  assert.match(await page.locator("#job-info").textContent(), refusal);
  const problem = await page.locator("#problems li").first().textContent();
  assert.match(problem, /^line 4: the job failed: /);
  assert.match(problem, refusal);
  await page.screenshot({ path: join(OUT, "05-file-refused.png") });
});

test("a job whose function throws fails, and the page marks the line inside the function", async () => {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  // esbuild drops the comment and the blank line: the worker's "line 3 of the function" is the
  // user's line 9 only through the bundle's source map.
  await page.keyboard.insertText([
    'import { Job, sources, sinks } from "@sluice/sdk";',
    'const job = new Job("boom", { parallelism: 1 });',
    "job",
    "  .source(sources.generator({ count: 10 }))",
    "  .map((n: number) => {",
    "    // a comment the bundle drops",
    "",
    "    const o: { x: number } | undefined = n > 5 ? undefined : { x: n };",
    "    return o!.x + 1;",
    "  })",
    "  .sink(sinks.stdout());",
    "export default job;",
  ].join("\n"));
  await page.waitForFunction(() => document.getElementById("compile-state").textContent.startsWith("compiled") &&
    document.querySelectorAll("#problems li").length === 0 && !document.getElementById("run").disabled);
  const before = await page.locator("#job-title").textContent();
  await page.click("#run");
  // The new job, not the one shown before (which may have failed too).
  await page.waitForFunction((title) => document.getElementById("job-title").textContent !== title &&
    document.getElementById("job-state").textContent === "failed", before, { timeout: 30000 });
  const problem = await page.locator("#problems li").first().textContent();
  assert.match(problem, /^line 9: the job failed: .*operator 'map#2' \(op2\): TypeError: Cannot read properties of undefined \(reading 'x'\) \(line 3 of the function\)/);
  assert.equal(await page.locator("#problems li").first().getAttribute("data-line"), "9");
  await page.screenshot({ path: join(OUT, "06-function-line.png") });
});

