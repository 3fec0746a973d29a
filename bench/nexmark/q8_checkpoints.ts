// q8.ts with checkpoints every second (bench/RESULTS.md, issue 17: what checkpoints cost a window join).
import { Job } from "@sluice/sdk";
import { newUsers } from "./q8";

const job = new Job("nexmark-q8-checkpoints", { checkpointInterval: "1s", params: { events: 20_000_000, sink: "discard" } });
newUsers(job);
export default job;
