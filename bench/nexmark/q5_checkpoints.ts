// q5.ts with checkpoints every second (bench/RESULTS.md, issue 17: what checkpoints cost a windowed job).
import { Job } from "@sluice/sdk";
import { hotItems } from "./q5";

const job = new Job("nexmark-q5-checkpoints", { checkpointInterval: "1s", params: { events: 20_000_000, sink: "discard" } });
hotItems(job);
export default job;
