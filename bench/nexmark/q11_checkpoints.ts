// q11.ts with checkpoints every second (bench/RESULTS.md, issue 17: what checkpoints cost a windowed job).
import { Job } from "@sluice/sdk";
import { userSessions } from "./q11";

const job = new Job("nexmark-q11-checkpoints", { checkpointInterval: "1s", params: { events: 20_000_000, sink: "discard" } });
userSessions(job);
export default job;
