// Real Redis and MariaDB servers for the connector suites: each runs from Debian's binaries in
// its own temp folder, listens on 127.0.0.1 on a port the OS picked, and is read back with the
// servers' own command-line clients. stop() and restart() keep the data (the sink tests stop a
// server mid-job); destroy() kills the server and removes its folder, and suites call it in
// `after` so a failing test leaves nothing running.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a program to completion; resolves to { code, stdout, stderr } (never rejects on exit codes). */
export function exec(file, args, { timeoutMs = 30000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

export async function poll(what, check, timeoutMs = 20000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last?.ok) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** A long-running server process that can be stopped and started again with the same arguments. */
class ServerProcess {
  constructor(name, file, args, logFile) {
    this.name = name;
    this.file = file;
    this.args = args;
    this.logFile = logFile;
    this.child = null;
    this.output = "";
  }

  start() {
    this.output = "";
    this.child = spawn(this.file, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout.on("data", (d) => (this.output += d));
    this.child.stderr.on("data", (d) => (this.output += d));
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the server said, for failure messages. */
  log() {
    let text = this.output;
    if (this.logFile) {
      try {
        text += readFileSync(this.logFile, "utf8");
      } catch {
        // no log file yet
      }
    }
    return text.slice(-4000);
  }

  /** Stops the process with `signal` (SIGKILL after 10 s) and waits until it is gone. */
  stop(signal = "SIGTERM") {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }
}

/**
 * Starts redis-server with an append-only file fsynced on every write, so a server killed and
 * started again still has every write it acknowledged. `password` turns on AUTH.
 */
export async function startRedis({ password } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--logfile", ""];
  if (password !== undefined) args.push("--requirepass", password);
  const server = new ServerProcess("redis-server", "redis-server", args);
  const auth = password === undefined ? [] : ["-a", password, "--no-auth-warning"];
  const redis = {
    port,
    address: `127.0.0.1:${port}`,
    dir,
    /** Runs redis-cli against the server; resolves to its trimmed standard output. */
    async cli(...cliArgs) {
      const result = await exec("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...auth, ...cliArgs]);
      if (result.code !== 0) throw new Error(`redis-cli ${cliArgs.join(" ")}: ${result.stderr}`);
      return result.stdout.trim();
    },
    async start() {
      server.start();
      await poll("redis-server answering PING", async () => {
        if (!server.running) throw new Error(`redis-server exited:\n${server.log()}`);
        const result = await exec("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...auth, "PING"]);
        return { ok: result.stdout.trim() === "PONG", out: result.stdout + result.stderr };
      });
    },
    stop: (signal) => server.stop(signal),
    /** Sends a signal without waiting for an exit (SIGSTOP / SIGCONT: a server that hangs). */
    signal: (name) => server.child?.kill(name),
    async destroy() {
      server.child?.kill("SIGCONT");
      await server.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await redis.start();
  } catch (error) {
    await redis.destroy();
    throw error;
  }
  return redis;
}

/**
 * Initialises a MariaDB data folder (mariadb-install-db), starts mariadbd on it and creates
 * `database` and a user that may use it from 127.0.0.1 with a password.
 */
export async function startMariaDb({ database = "sluice", user = "sluice", password = "sluice-pw" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-mariadb-"));
  const dataDir = join(dir, "data");
  const socket = join(dir, "mysqld.sock");
  const root = process.getuid?.() === 0 ? ["--user=root"] : [];
  const install = await exec("mariadb-install-db", ["--no-defaults", `--datadir=${dataDir}`,
    "--auth-root-authentication-method=normal", "--skip-test-db", ...root], { timeoutMs: 120000 });
  if (install.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed:\n${install.stdout}${install.stderr}`);
  }
  const port = await freePort();
  const logFile = join(dir, "error.log");
  const server = new ServerProcess("mariadbd", "mariadbd", ["--no-defaults", `--datadir=${dataDir}`,
    `--port=${port}`, "--bind-address=127.0.0.1", `--socket=${socket}`, `--pid-file=${join(dir, "mysqld.pid")}`,
    `--log-error=${logFile}`, "--skip-log-bin", "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=1", ...root], logFile);
  const asRoot = ["--no-defaults", `--socket=${socket}`, "-uroot"];
  const db = {
    port,
    host: "127.0.0.1",
    database,
    user,
    password,
    dir,
    /** Runs SQL as root over the socket; resolves to the rows as arrays of strings (tab-separated output). */
    async query(sql) {
      const result = await exec("mariadb", [...asRoot, "--batch", "--skip-column-names", database, "-e", sql]);
      if (result.code !== 0) throw new Error(`mariadb -e ${JSON.stringify(sql)}: ${result.stderr}`);
      return result.stdout.split("\n").filter((line) => line !== "").map((line) => line.split("\t"));
    },
    async start() {
      server.start();
      await poll("mariadbd accepting connections", async () => {
        if (!server.running) throw new Error(`mariadbd exited:\n${server.log()}`);
        const result = await exec("mariadb", [...asRoot, "-e", "SELECT 1"]);
        return { ok: result.code === 0, out: result.stderr };
      }, 60000);
    },
    stop: (signal) => server.stop(signal),
    async destroy() {
      await server.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await db.start();
    const setup = await exec("mariadb", [...asRoot, "-e",
      `CREATE DATABASE ${database}; CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; ` +
      `GRANT ALL ON ${database}.* TO '${user}'@'%';`]);
    if (setup.code !== 0) throw new Error(`creating the database and user: ${setup.stderr}`);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/**
 * A one-member etcd (Debian's etcd-server) on two free loopback ports with a temp data folder;
 * `endpoint` is its client host:port. destroy() kills it and removes the folder.
 */
export async function startEtcd() {
  const dir = mkdtempSync(join(tmpdir(), "sluice-etcd-"));
  const client = await freePort();
  const peer = await freePort();
  const server = new ServerProcess("etcd", "etcd", [
    "--name", "sluice-test", "--data-dir", join(dir, "data"),
    "--listen-client-urls", `http://127.0.0.1:${client}`,
    "--advertise-client-urls", `http://127.0.0.1:${client}`,
    "--listen-peer-urls", `http://127.0.0.1:${peer}`,
    "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
    "--initial-cluster", `sluice-test=http://127.0.0.1:${peer}`,
  ]);
  const endpoint = `127.0.0.1:${client}`;
  const etcd = {
    endpoint,
    async destroy() {
      await server.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    server.start();
    await poll("etcd serving", async () => {
      if (!server.running) throw new Error(`etcd exited:\n${server.log()}`);
      const result = await exec("etcdctl", ["--endpoints", endpoint, "endpoint", "health"]);
      return { ok: result.code === 0, out: result.stderr };
    }, 30000);
  } catch (error) {
    await etcd.destroy();
    throw error;
  }
  return etcd;
}
