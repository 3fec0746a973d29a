// Builds the playground into <out> (default ../build/playground): index.html, the page's script
// (the SDK bundled from ../sdk-ts/src for the browser, CodeMirror, the examples), its style and
// esbuild's WebAssembly. Every asset name carries a content hash; the coordinator serves them.
//
//   node playground/build.mjs [--out DIR]
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const outArg = process.argv.indexOf("--out");
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(repo, "build/playground"));

// The examples menu: the repository's examples and Nexmark queries, as their files read.
function examples() {
  const list = [];
  for (const dir of readdirSync(join(repo, "examples")).sort()) {
    const file = join(repo, "examples", dir, "job.ts");
    if (existsSync(file)) list.push({ name: `examples/${dir}`, source: readFileSync(file, "utf8") });
  }
  for (const file of readdirSync(join(repo, "bench/nexmark")).sort()) {
    if (/^q\d+\.ts$/.test(file)) {
      list.push({ name: `nexmark/${file.replace(/\.ts$/, "")}`, source: readFileSync(join(repo, "bench/nexmark", file), "utf8") });
    }
  }
  // Ones made for the page: they need no files or external systems.
  for (const file of readdirSync(join(here, "examples")).sort()) {
    list.unshift({ name: `playground/${file.replace(/\.ts$/, "")}`, source: readFileSync(join(here, "examples", file), "utf8") });
  }
  return list;
}

const shim = (name) => join(here, "src/shims", name);
const result = await build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  write: false,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // The SDK's Node-only parts (running jobs, the gRPC client) are behind these shims; the rest of
  // the SDK is its own source.
  alias: {
    "node:path": shim("path.ts"),
    "node:url": shim("url.ts"),
    "node:fs": shim("unavailable.ts"),
    "node:fs/promises": shim("unavailable.ts"),
    "node:os": shim("unavailable.ts"),
    "node:child_process": shim("unavailable.ts"),
    "node:timers/promises": shim("unavailable.ts"),
    "@grpc/grpc-js": shim("unavailable.ts"),
    "@grpc/proto-loader": shim("unavailable.ts"),
  },
  inject: [shim("process.ts")],
  define: { "import.meta.url": JSON.stringify("file:///playground/sdk/index.js") },
  nodePaths: [join(here, "node_modules"), join(repo, "sdk-ts/node_modules")],
  plugins: [
    {
      name: "examples",
      setup(b) {
        b.onResolve({ filter: /^virtual:examples$/ }, () => ({ path: "examples", namespace: "examples" }));
        b.onLoad({ filter: /.*/, namespace: "examples" }, () => ({
          contents: `export default ${JSON.stringify(examples())};`,
          loader: "js",
        }));
      },
    },
  ],
});

const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 10);
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const js = result.outputFiles[0].contents;
const jsName = `app-${hash(js)}.js`;
writeFileSync(join(out, "assets", jsName), js);
const css = readFileSync(join(here, "src/style.css"));
const cssName = `style-${hash(css)}.css`;
writeFileSync(join(out, "assets", cssName), css);
const wasmPath = join(here, "node_modules/esbuild-wasm/esbuild.wasm");
const wasm = readFileSync(wasmPath);
const wasmName = `esbuild-${hash(wasm)}.wasm`;
copyFileSync(wasmPath, join(out, "assets", wasmName));
// Served instead when the browser accepts gzip (a quarter of the size); the server compresses
// text assets itself, not WebAssembly.
writeFileSync(join(out, "assets", wasmName + ".gz"), gzipSync(wasm, { level: 9 }));
const html = readFileSync(join(here, "src/index.html"), "utf8")
  .replace("%APP%", `/assets/${jsName}`)
  .replace("%STYLE%", `/assets/${cssName}`)
  .replace("%WASM%", `/assets/${wasmName}`);
writeFileSync(join(out, "index.html"), html);
console.error(`playground: built into ${out} (${jsName} ${(js.length / 1024).toFixed(0)} KB, ${wasmName} ${(wasm.length / 1048576).toFixed(1)} MB)`);
