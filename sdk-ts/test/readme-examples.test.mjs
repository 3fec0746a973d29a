// Every TypeScript example in the repository's README.md and in sdk-ts/README.md, so that the
// documentation cannot drift from the SDK: each ```ts block is type-checked with tsc (strict,
// against the built SDK), and each block that default-exports a job is compiled to its JobSpec
// by the job compiler the CLI uses (which also checks that every function can be shipped).
// A block is a whole module: it imports what it uses, as a reader would copy it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const SDK = fileURLToPath(new URL("..", import.meta.url));
const REPO = join(SDK, "..");
const READMES = ["README.md", "sdk-ts/README.md"];
const TSC = join(SDK, "node_modules", "typescript", "bin", "tsc");
const COMPILER = join(SDK, "dist", "cli", "compile-job.js");

// The ```ts blocks of a Markdown file, with the line each starts on.
export function tsBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== "```") end++;
    assert.ok(end < lines.length, `an unclosed \`\`\`ts block at line ${start}`);
    blocks.push({ line: start + 1, text: lines.slice(start, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

const examples = READMES.flatMap((readme) =>
  tsBlocks(readFileSync(join(REPO, readme), "utf8")).map((block) => ({
    ...block,
    readme,
    file: `${readme.replace(/[/.]/g, "_")}_line${block.line}.ts`,
  })),
);
let dir;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-readme-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  for (const example of examples) writeFileSync(join(dir, example.file), example.text);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("both READMEs have TypeScript examples", () => {
  for (const readme of READMES) {
    assert.ok(examples.some((e) => e.readme === readme), `no \`\`\`ts block in ${readme}`);
  }
});

test("every README example type-checks against the SDK", () => {
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2022"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      typeRoots: [join(SDK, "node_modules", "@types")],
      types: ["node"],
      paths: { "@sluice/sdk": [join(SDK, "dist", "index.d.ts")] },
    },
    files: examples.map((e) => e.file),
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  const r = spawnSync(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")], {
    cwd: dir,
    encoding: "utf8",
  });
  // tsc names the temporary file; say which README line the block starts on.
  let report = r.stdout + r.stderr;
  for (const e of examples) {
    report = report.replaceAll(e.file, `${e.readme} (the block at line ${e.line})`);
  }
  assert.equal(r.status, 0, report);
});

for (const example of examples.filter((e) => /^export default job;/m.test(e.text))) {
  test(`${example.readme}: the job at line ${example.line} compiles to a JobSpec`, () => {
    const r = spawnSync(process.execPath, [COMPILER, join(dir, example.file)], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const spec = JSON.parse(r.stdout);
    assert.ok(spec.operators.length >= 2, r.stdout);
  });
}
