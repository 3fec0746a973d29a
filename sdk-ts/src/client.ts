/**
 * Talking to a coordinator: `job.submit()` and the {@link JobHandle} it returns. Uses the
 * JobService of proto/sluice/job_service.proto through @grpc/grpc-js; gRPC and the proto are
 * loaded on first use, so building jobs (and `compile-job`) never pays for them.
 */
import type * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { toMillis, type Duration } from "./duration.js";
import { protoRoot } from "./paths.js";
import type { JobSpec } from "./spec.js";

/** The default coordinator address: $SLUICE_COORDINATOR, else 127.0.0.1:7070. */
export function defaultCoordinator(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SLUICE_COORDINATOR;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "127.0.0.1:7070";
}

/** Options of `job.submit()` and {@link connect}. */
export interface SubmitOptions {
  /**
   * host:port of the coordinator's gRPC endpoint (default {@link defaultCoordinator}), or several
   * separated by commas (a leader and its standbys: calls go to whichever leads).
   */
  readonly coordinator?: string;
  /** Deadline of every single call to the coordinator (default 5 s). */
  readonly timeout?: Duration;
  /**
   * The cluster's auth token, sent as `authorization: Bearer <token>` on every call (default:
   * read from {@link SubmitOptions.authTokenFile}, else $SLUICE_AUTH_TOKEN). Like the CLI's
   * `--auth-token-file`.
   */
  readonly authToken?: string;
  /** A file holding the cluster's auth token (surrounding whitespace trimmed). */
  readonly authTokenFile?: string;
  /**
   * A PEM file of the roots to trust: connect over TLS and verify the coordinator's certificate.
   * Like the CLI's `--tls-ca`.
   */
  readonly tlsCaFile?: string;
}

/** How a connection proves itself and whether it speaks TLS, resolved from {@link SubmitOptions}. */
interface Credentials {
  readonly token: string;
  readonly ca?: Buffer;
}

/** Resolves the token and TLS roots; a file that cannot be read is an error naming it. */
function credentialsOf(options: SubmitOptions, env: NodeJS.ProcessEnv = process.env): Credentials {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read the ${what} file ${file}: ${(e as Error).message}`);
    }
  };
  let token = options.authToken?.trim() ?? "";
  if (options.authToken === undefined && options.authTokenFile !== undefined) {
    token = read(options.authTokenFile, "auth token").toString("utf8").trim();
    if (token === "") throw new Error(`the auth token file ${options.authTokenFile} is empty`);
  } else if (options.authToken === undefined) {
    token = (env.SLUICE_AUTH_TOKEN ?? "").trim();
  }
  return options.tlsCaFile === undefined ? { token } : { token, ca: read(options.tlsCaFile, "TLS CA") };
}

/** A job's lifecycle state. */
export type JobState = "created" | "running" | "finished" | "canceled" | "failed";

/** A task's lifecycle state. */
export type TaskState = "deploying" | "running" | "finished" | "canceled" | "failed";

/** One running piece of a job: a chain of operators at one subtask index. */
export interface TaskStatus {
  readonly taskId: string;
  /** The chain's operator names joined with " -> ". */
  readonly operators: string;
  readonly subtask: number;
  readonly workerId: string;
  readonly state: TaskState;
  readonly failure?: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  /**
   * The task's output watermark (event time, epoch ms) once it has one; `Infinity` once its
   * input has ended (every timer fired).
   */
  readonly watermark?: number;
  /**
   * How long, in total, the task waited to hand records to the tasks downstream (they had no
   * room): the time it was back-pressured. Its growth per second is the busy share.
   */
  readonly backpressuredMs: number;
  /** Records per second in and out, over the last 10 s of the worker's reports. */
  readonly inPerSecond: number;
  readonly outPerSecond: number;
}

/** What the coordinator knows about a job. */
export interface JobStatus {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  /** With state "failed": why, naming the operator or worker. */
  readonly failure?: string;
  /** Epoch ms. */
  readonly submittedAt: number;
  /** Epoch ms; absent while the job runs. */
  readonly endedAt?: number;
  readonly tasks: readonly TaskStatus[];
  /**
   * The job was resumed by a restarted coordinator, which does not keep what its
   * `sinks.collect()` had received: `results()` holds only the records since the resume.
   */
  readonly resultsPartial: boolean;
}

/** Options of {@link JobHandle.results}. */
export interface ResultsOptions {
  readonly pollInterval?: Duration;
  /**
   * Accept results a restarted coordinator could only partly keep (see
   * {@link JobStatus.resultsPartial}); without it, `results()` rejects when they are partial.
   */
  readonly allowPartial?: boolean;
}

/** A job on a coordinator. Each call opens a connection and closes it when done. */
export interface JobHandle<R = unknown> {
  /** The job id the coordinator gave. */
  readonly id: string;
  /** The coordinator's address. */
  readonly coordinator: string;
  /** The job's current status. */
  status(): Promise<JobStatus>;
  /** Asks the coordinator to cancel the job; resolves to the status after the request. */
  cancel(): Promise<JobStatus>;
  /** Waits until the job has ended (finished, canceled or failed) and returns its final status. */
  wait(options?: { readonly pollInterval?: Duration }): Promise<JobStatus>;
  /**
   * Waits until the job has ended and returns every record of its `sinks.collect()`, parsed.
   * Rejects when the job failed, and when a restarted coordinator lost the records collected
   * before it resumed the job, unless `allowPartial` is set.
   */
  results(options?: ResultsOptions): Promise<R[]>;
}

const ENDED: ReadonlySet<JobState> = new Set(["finished", "canceled", "failed"]);

// --- the generated-at-runtime client, typed for what we call ---------------------------------

interface RawTask {
  taskId: string;
  operators: string;
  subtask: number;
  workerId: string;
  state: string;
  failure: string;
  recordsIn: number;
  recordsOut: number;
  watermark?: number | null;
  _watermark?: string;
  backpressuredMs: number;
  inPerSecond: number;
  outPerSecond: number;
}
interface RawJobInfo {
  jobId: string;
  name: string;
  state: string;
  failure: string;
  submittedAtMs: number;
  endedAtMs: number;
  tasks: RawTask[];
  resultsPartial: boolean;
}
interface RawProblem {
  operatorId: string;
  operatorName: string;
  message: string;
}
interface RawSubmitResponse {
  jobId: string;
  problems: RawProblem[];
}
interface RawResults {
  records: string[];
  nextOffset: number;
  complete: boolean;
  state: string;
  partial: boolean;
}

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;
type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback<Res>,
) => void;

interface JobServiceClient extends grpc.Client {
  SubmitJob: Unary<{ spec: JobSpec }, RawSubmitResponse>;
  GetJob: Unary<{ jobId: string }, RawJobInfo>;
  CancelJob: Unary<{ jobId: string }, RawJobInfo>;
  GetResults: Unary<{ jobId: string; offset: number; maxRecords: number }, RawResults>;
}

type JobServiceConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => JobServiceClient;

interface Loaded {
  readonly grpc: typeof grpc;
  readonly JobService: JobServiceConstructor;
}

let loadedService: Promise<Loaded> | undefined;

/** Loads gRPC and proto/sluice/job_service.proto once. */
function loadService(): Promise<Loaded> {
  loadedService ??= (async () => {
    const grpcModule = await import("@grpc/grpc-js");
    const protoLoader = await import("@grpc/proto-loader");
    const root = protoRoot();
    const definition = protoLoader.loadSync(join(root, "sluice", "job_service.proto"), {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [root],
    });
    const loaded = grpcModule.loadPackageDefinition(definition) as unknown as {
      sluice: { proto: { JobService: JobServiceConstructor } };
    };
    return { grpc: grpcModule, JobService: loaded.sluice.proto.JobService };
  })();
  return loadedService;
}

/**
 * One connection to a coordinator, or to several (`"host:port,host:port"`: a leader and its
 * standbys): a call that finds one unreachable, silent or a standby moves on to the next.
 * Closed by {@link Connection.close}.
 */
class Connection {
  private readonly clients: JobServiceClient[];
  private readonly addresses: string[];
  private readonly metadata: grpc.Metadata;
  private current = 0;
  constructor(
    private readonly loaded: Loaded,
    readonly address: string,
    private readonly timeoutMs: number,
    credentials: Credentials,
  ) {
    const channel = () =>
      credentials.ca === undefined
        ? loaded.grpc.credentials.createInsecure()
        : loaded.grpc.credentials.createSsl(credentials.ca);
    this.addresses = address.split(",").filter((a) => a !== "");
    if (this.addresses.length === 0) this.addresses = [address];
    this.clients = this.addresses.map((a) => new loaded.JobService(a, channel()));
    this.metadata = new loaded.grpc.Metadata();
    if (credentials.token !== "") this.metadata.set("authorization", `Bearer ${credentials.token}`);
  }

  async call<Req, Res>(method: (c: JobServiceClient) => Unary<Req, Res>, request: Req): Promise<Res> {
    const status = this.loaded.grpc.status;
    // With standbys, a silent coordinator must not hold the call for the whole deadline.
    const each = this.clients.length > 1 ? Math.min(this.timeoutMs, 2500) : this.timeoutMs;
    let last: grpc.ServiceError | null = null;
    for (let tried = 0; tried < this.clients.length; tried++) {
      const client = this.clients[this.current];
      try {
        return await new Promise<Res>((resolve, reject) => {
          const deadline = new Date(Date.now() + each);
          const options = { deadline, waitForReady: false };
          method(client).call(client, request, this.metadata, options, (error, response) => {
            if (error !== null || response === undefined) reject(error);
            else resolve(response);
          });
        });
      } catch (error) {
        last = error as grpc.ServiceError | null;
        if (last?.code !== status.UNAVAILABLE && last?.code !== status.DEADLINE_EXCEEDED) break;
        this.current = (this.current + 1) % this.clients.length;
      }
    }
    throw this.translate(last);
  }

  private translate(error: grpc.ServiceError | null): Error {
    const code = error?.code;
    const status = this.loaded.grpc.status;
    const address = this.addresses[this.current];
    if (code === status.UNAVAILABLE && error?.details?.includes("standby") === true) {
      return new Error(`the Sluice coordinator at ${address}: ${error.details}`);
    }
    if (code === status.UNAVAILABLE) {
      return new Error(`cannot reach the Sluice coordinator at ${this.address} (is it running?)`);
    }
    if (code === status.DEADLINE_EXCEEDED) {
      return new Error(`the Sluice coordinator at ${this.address} did not answer within ${this.timeoutMs} ms`);
    }
    const details = error?.details !== undefined && error.details !== "" ? error.details : String(error?.message);
    if (code === status.UNAUTHENTICATED) {
      return new Error(`the Sluice coordinator at ${this.address} refused the call: ${details}`);
    }
    return new Error(`the Sluice coordinator at ${this.address} answered with an error: ${details}`);
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

async function withConnection<T>(
  address: string,
  timeoutMs: number,
  credentials: Credentials,
  body: (c: Connection) => Promise<T>,
): Promise<T> {
  const connection = new Connection(await loadService(), address, timeoutMs, credentials);
  try {
    return await body(connection);
  } finally {
    connection.close();
  }
}

/** Submits a JobSpec; rejects with every validation problem the coordinator found. */
export async function submitSpec<R>(spec: JobSpec, options: SubmitOptions = {}): Promise<JobHandle<R>> {
  const address = options.coordinator ?? defaultCoordinator();
  const timeoutMs = toMillis(options.timeout ?? 5000, "submit: timeout");
  const credentials = credentialsOf(options);
  const response = await withConnection(address, timeoutMs, credentials, (c) =>
    c.call((s) => s.SubmitJob, { spec }),
  );
  if (response.problems.length > 0 || response.jobId === "") {
    const lines = response.problems.map((p) =>
      p.operatorId === "" ? p.message : `operator '${p.operatorName}' (${p.operatorId}): ${p.message}`,
    );
    throw new Error(
      `the coordinator at ${address} refused job '${spec.name}':` +
        (lines.length === 0 ? " no job id and no reason given" : "\n" + lines.map((l) => `  - ${l}`).join("\n")),
    );
  }
  return connect<R>(response.jobId, { ...options, coordinator: address, timeout: timeoutMs });
}

/**
 * A handle to a job already on a coordinator, by id (for jobs submitted elsewhere).
 *
 * @param id - the job id
 */
export function connect<R = unknown>(id: string, options: SubmitOptions = {}): JobHandle<R> {
  const address = options.coordinator ?? defaultCoordinator();
  const timeoutMs = toMillis(options.timeout ?? 5000, "timeout");
  const credentials = credentialsOf(options);
  const once = <T>(body: (c: Connection) => Promise<T>): Promise<T> =>
    withConnection(address, timeoutMs, credentials, body);
  const getStatus = (c: Connection): Promise<JobStatus> => c.call((s) => s.GetJob, { jobId: id }).then(toStatus);
  const waitEnded = async (c: Connection, pollMs: number): Promise<JobStatus> => {
    for (;;) {
      const status = await getStatus(c);
      if (ENDED.has(status.state)) return status;
      await sleep(pollMs);
    }
  };
  const pollOf = (o?: { readonly pollInterval?: Duration }): number =>
    toMillis(o?.pollInterval ?? 200, "pollInterval");
  return {
    id,
    coordinator: address,
    status: () => once(getStatus),
    cancel: () => once((c) => c.call((s) => s.CancelJob, { jobId: id }).then(toStatus)),
    wait: (o) => once((c) => waitEnded(c, pollOf(o))),
    results: (o) =>
      once(async (c) => {
        const pollMs = pollOf(o);
        const records: R[] = [];
        let offset = 0;
        let partial = false;
        for (;;) {
          const page = await c.call((s) => s.GetResults, { jobId: id, offset, maxRecords: 0 });
          partial ||= page.partial;
          for (const r of page.records) records.push(JSON.parse(r) as R);
          offset = page.nextOffset > offset ? page.nextOffset : offset + page.records.length;
          if (page.complete) break;
          // An ended job with nothing more to hand out is complete even if the flag is unset.
          if (page.records.length === 0 && ENDED.has(jobState(page.state))) break;
          if (page.records.length === 0) await sleep(pollMs);
        }
        const status = await getStatus(c);
        if (status.state === "failed") {
          throw new Error(`job ${id} failed: ${status.failure ?? "no reason given"}`);
        }
        if ((partial || status.resultsPartial) && o?.allowPartial !== true) {
          throw new Error(
            `job ${id} was resumed by a restarted coordinator, which lost the records its ` +
              `collect sink had received before; only the ${records.length} record(s) since the resume ` +
              "are left (pass { allowPartial: true } to results() to take them)",
          );
        }
        return records;
      }),
  };
}

function jobState(raw: string): JobState {
  switch (raw) {
    case "JOB_RUNNING":
      return "running";
    case "JOB_FINISHED":
      return "finished";
    case "JOB_CANCELED":
      return "canceled";
    case "JOB_FAILED":
      return "failed";
    default:
      return "created";
  }
}

function taskState(raw: string): TaskState {
  switch (raw) {
    case "TASK_RUNNING":
      return "running";
    case "TASK_FINISHED":
      return "finished";
    case "TASK_CANCELED":
      return "canceled";
    case "TASK_FAILED":
      return "failed";
    default:
      return "deploying";
  }
}

/** Maps the wire JobInfo to a {@link JobStatus}. */
// proto3 `optional`: set when the synthetic oneof names it. INT64_MAX is the end of input.
function watermarkOf(t: RawTask): { watermark?: number } {
  if (t._watermark !== "watermark" || t.watermark === undefined || t.watermark === null) return {};
  return { watermark: t.watermark >= Number.MAX_SAFE_INTEGER ? Infinity : t.watermark };
}

export function toStatus(raw: RawJobInfo): JobStatus {
  return {
    id: raw.jobId,
    name: raw.name,
    state: jobState(raw.state),
    ...(raw.failure !== "" ? { failure: raw.failure } : {}),
    submittedAt: raw.submittedAtMs,
    ...(raw.endedAtMs !== 0 ? { endedAt: raw.endedAtMs } : {}),
    tasks: raw.tasks.map((t) => ({
      taskId: t.taskId,
      operators: t.operators,
      subtask: t.subtask,
      workerId: t.workerId,
      state: taskState(t.state),
      ...(t.failure !== "" ? { failure: t.failure } : {}),
      recordsIn: t.recordsIn,
      recordsOut: t.recordsOut,
      ...watermarkOf(t),
      backpressuredMs: t.backpressuredMs,
      inPerSecond: t.inPerSecond,
      outPerSecond: t.outPerSecond,
    })),
    resultsPartial: raw.resultsPartial,
  };
}
