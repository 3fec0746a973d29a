/**
 * The records of the Nexmark benchmark's generator (`sources.nexmark`): people register,
 * open auctions and bid on them. Field names follow the Nexmark reference model; times are
 * epoch milliseconds of event time.
 */

/** A new person registering. */
export interface NexmarkPerson {
  readonly type: "person";
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
}

/** A new auction. */
export interface NexmarkAuction {
  readonly type: "auction";
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

/** A bid on an auction. */
export interface NexmarkBid {
  readonly type: "bid";
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
}

/** Any Nexmark record; narrow it with `r.type === "bid"` and so on. */
export type NexmarkEvent = NexmarkPerson | NexmarkAuction | NexmarkBid;
