// Test hosts on one machine: Linux network namespaces, each with one veth interface plugged
// into a bridge that lives in a namespace of its own (so nothing is added to the machine's own
// network). Addresses are 10.77.0.0/24 and exist only inside these namespaces. Needs root (CI
// runs as root); `netnsUnavailable()` says why when namespaces cannot be made here.
import { execFile, spawn } from "node:child_process";

function ip(args) {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 10000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(" ")}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Resolves to null when network namespaces can be made here, else to the reason they cannot. */
export async function netnsUnavailable() {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return "network namespaces need root (CI runs as root)";
  }
  const probe = `sluice-probe-${process.pid}`;
  try {
    await ip(["netns", "add", probe]);
  } catch (err) {
    return `cannot create a network namespace: ${err.message.trim()}`;
  }
  await ip(["netns", "del", probe]).catch(() => {});
  return null;
}

/**
 * Makes `count` hosts named <prefix>a, <prefix>b, ... with addresses 10.77.0.1, .2, ... joined
 * by a bridge. Resolves to { hosts: [{ ns, address }], unplug(i), plug(i), destroy() }.
 */
export async function makeHosts(count, prefix = `sl${process.pid % 100000}`) {
  const bridgeNs = `${prefix}sw`;
  const made = [];
  const destroy = async () => {
    for (const ns of made.reverse()) await ip(["netns", "del", ns]).catch(() => {});
  };
  try {
    await ip(["netns", "add", bridgeNs]);
    made.push(bridgeNs);
    await ip(["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
    await ip(["-n", bridgeNs, "link", "set", "br0", "up"]);
    const hosts = [];
    for (let i = 0; i < count; i++) {
      const ns = `${prefix}${String.fromCharCode(97 + i)}`;
      const address = `10.77.0.${i + 1}`;
      await ip(["netns", "add", ns]);
      made.push(ns);
      // The host's end is eth0; the bridge's end is p<i> in the bridge's namespace.
      await ip(["-n", bridgeNs, "link", "add", `p${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await ip(["-n", bridgeNs, "link", "set", `p${i}`, "master", "br0", "up"]);
      await ip(["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await ip(["-n", ns, "link", "set", "eth0", "up"]);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
      hosts.push({ ns, address });
    }
    return {
      hosts,
      /** Takes host i off the network, as if its cable were pulled (or it lost power). */
      unplug: (i) => ip(["-n", bridgeNs, "link", "set", `p${i}`, "down"]),
      plug: (i) => ip(["-n", bridgeNs, "link", "set", `p${i}`, "up"]),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Spawns `command args` inside the host's namespace (ip netns exec execs it: same pid). */
export function spawnIn(host, command, args, options = {}) {
  return spawn("ip", ["netns", "exec", host.ns, command, ...args], options);
}

/** Runs `command args` inside the host's namespace; resolves to { code, stdout, stderr }. */
export function runIn(host, command, args, { cwd, env, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnIn(host, command, args, { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} on ${host.ns} did not end within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
