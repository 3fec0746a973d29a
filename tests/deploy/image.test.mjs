// The OCI image from deploy/build-image.sh (mmdebstrap + buildah, no daemon): its layers are
// unpacked from the archive as a runtime would, and the example word count runs inside that
// root file system (chroot, as the image's user, with the image's environment) with the image's
// own `sluice` binary and Node.js. Slow: the first build fetches about 40 Debian packages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const BUILD = process.env.SLUICE_BUILD_DIR ?? join(REPO, "build");

function run(file, args, { timeoutMs = 900000, env } = {}) {
  return new Promise((done) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20, env: env ?? process.env }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const unavailable = typeof process.getuid === "function" && process.getuid() !== 0
  ? "building and entering the image's root file system needs root (CI runs as root)"
  : null;
if (unavailable) console.log(`# skipping the image suite: ${unavailable}`);
const suite = { skip: unavailable ?? false };

let work;
let archive;
let rootfs;
let config;
let mounted = [];

// Unpacks an OCI archive's image (one manifest) into `into`; returns the image's config.
async function unpack(file, into) {
  const layout = join(work, "layout");
  mkdirSync(layout);
  const untar = await run("tar", ["-xf", file, "-C", layout]);
  assert.equal(untar.code, 0, untar.stderr);
  const blob = (digest) => join(layout, "blobs", ...digest.split(":"));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  assert.equal(index.manifests.length, 1);
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  mkdirSync(into);
  for (const layer of manifest.layers) {
    const gzip = layer.mediaType.endsWith("gzip");
    const out = await run("tar", [gzip ? "-xzf" : "-xf", blob(layer.digest), "-C", into, "--numeric-owner"]);
    assert.equal(out.code, 0, `${layer.digest}: ${out.stderr}`);
  }
  return JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
}

before(async () => {
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), "sluice-image-"));
  archive = join(work, "sluice-image.oci.tar");
  const built = await run(join(REPO, "deploy/build-image.sh"), ["--output", archive]);
  assert.equal(built.code, 0, built.stdout + built.stderr);
  console.log(`# ${built.stdout.trim()}`);
  rootfs = join(work, "rootfs");
  config = await unpack(archive, rootfs);
  // What a container runtime provides: /proc and /dev.
  for (const dir of ["proc", "dev"]) {
    mkdirSync(join(rootfs, dir), { recursive: true });
    const bound = await run("mount", ["--bind", `/${dir}`, join(rootfs, dir)]);
    assert.equal(bound.code, 0, bound.stderr);
    mounted.push(join(rootfs, dir));
  }
});

after(async () => {
  let stillMounted = false;
  for (const path of mounted.reverse()) {
    await run("umount", ["-l", path]);
    stillMounted ||= (await run("mountpoint", ["-q", path])).code === 0;
  }
  // Never remove a tree that still has the machine's /dev or /proc bound into it.
  if (stillMounted) console.log(`# left ${work} in place: a bind mount in it could not be undone`);
  else if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a command inside the image's root file system as the image's user, with its environment. */
function inImage(command, { cwd = config.config.WorkingDir } = {}) {
  const [uid, gid] = config.config.User.split(":");
  return run("chroot", [`--userspec=${uid}:${gid}`, rootfs, "/bin/sh", "-c", `cd ${cwd} && ${command}`], {
    env: Object.fromEntries(config.config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
    timeoutMs: 120000,
  });
}

test("the image runs as a non-root user, starts sluice, and holds no build tools", suite, async () => {
  assert.equal(config.config.User, "10001:10001");
  assert.deepEqual(config.config.Entrypoint, ["/usr/local/bin/sluice"]);
  const passwd = readFileSync(join(rootfs, "etc/passwd"), "utf8");
  assert.match(passwd, /^sluice:x:10001:10001:/m);
  const packages = await run("chroot", [rootfs, "dpkg-query", "-W", "-f", "${Package}\\n"]);
  assert.equal(packages.code, 0, packages.stderr);
  const list = packages.stdout.trim().split("\n");
  assert.ok(list.includes("libnode108") && list.includes("librocksdb7.8"), list.join(" "));
  const tools = list.filter((p) => p.endsWith("-dev") || /^(gcc|g\+\+|cpp|make|cmake|apt)(-\d+)?$/.test(p));
  assert.deepEqual(tools, [], "build tools or -dev packages in the image");
  const help = await inImage("sluice --help");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /coordinator/);
  const size = statSync(archive).size;
  assert.ok(size < 400 * 1024 * 1024, `image archive is ${size} bytes`);
});

test("the example word count runs inside the image with the image's own sluice and Node.js", suite, async () => {
  const dir = "/usr/local/share/sluice/examples/word-count";
  const out = await inImage("sluice run job.ts", { cwd: dir });
  assert.equal(out.code, 0, out.stderr);
  // The final count of each word is its number of occurrences in the input.
  const expected = new Map();
  for (const w of readFileSync(join(REPO, "examples/word-count/input.txt"), "utf8").split(/\s+/)) {
    if (w.length > 0) expected.set(w.toLowerCase(), (expected.get(w.toLowerCase()) ?? 0) + 1);
  }
  const seen = new Map();
  for (const line of out.stdout.trim().split("\n")) {
    const r = JSON.parse(line);
    seen.set(r.word, Math.max(seen.get(r.word) ?? 0, r.count));
  }
  assert.deepEqual(new Map([...seen].sort()), new Map([...expected].sort()));
});
