// Nexmark event generator (Person, Auction, Bid), after Apache Beam's nexmark generator
// (GeneratorConfig, NexmarkUtils, PersonGenerator, AuctionGenerator, BidGenerator).
//
// Event n (n >= 0) is a pure function of n and the config: per 50 events 1 person, 3 auctions
// and 46 bids; ids follow Beam's lastBase0PersonId / lastBase0AuctionId / nextBase0*Id rules;
// randomness comes from a small PRNG seeded by n (not java.util.Random, so the values differ
// from Beam's, but the distributions and id rules are the same). Records are built here, in JS,
// with one object literal per type so that every record of a type has the same hidden class.
//
// The script's completion value is { make(config) -> (n) => record, constants }.
(function () {
  "use strict";

  const TOTAL_PROPORTION = 50;
  const PERSON_PROPORTION = 1;
  const AUCTION_PROPORTION = 3;
  const FIRST_PERSON_ID = 1000;
  const FIRST_AUCTION_ID = 1000;
  const FIRST_CATEGORY_ID = 10;
  const NUM_CATEGORIES = 5;
  const PERSON_ID_LEAD = 10;
  const AUCTION_ID_LEAD = 10;
  // Beam's per-generator constants: hot items are multiples of 100 (bidders: + 1).
  const HOT_AUCTION_RATIO = 100;
  const HOT_SELLER_RATIO = 100;
  const HOT_BIDDER_RATIO = 100;
  // Beam's GeneratorConfig defaults: a bid is on a hot auction with probability 1 - 1/2, ...
  const HOT_AUCTIONS_PROB_RATIO = 2;
  const HOT_BIDDERS_PROB_RATIO = 4;
  const HOT_SELLERS_PROB_RATIO = 4;
  const NUM_ACTIVE_PEOPLE = 1000;
  const NUM_IN_FLIGHT_AUCTIONS = 100;
  const HOT_CHANNELS_RATIO = 2;
  const CHANNELS_NUMBER = 10000;

  const FIRST_NAMES = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie",
    "Sarah", "Deiter", "Walter"];
  const LAST_NAMES = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith",
    "Jones", "Noris"];
  const US_STATES = ["AZ", "CA", "ID", "OR", "WA", "WY"];
  const US_CITIES = ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend",
    "Redmond", "Seattle", "Kent", "Cheyenne"];
  const HOT_CHANNELS = ["Google", "Facebook", "Baidu", "Apple"];

  // Mulberry32; `st` is the whole state, reseeded per event.
  let st = 0;
  function seed(n) {
    const lo = n >>> 0;
    const hi = Math.floor(n / 4294967296) | 0;
    let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x632be5ab, 0xc2b2ae35);
    h ^= h >>> 16;
    st = Math.imul(h, 0x7feb352d);
  }
  function next32() {
    let t = (st = (st + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  function nextDouble() {
    return next32() / 4294967296;
  }
  // Uniform in [0, n) for n up to 2^32 (more than any bound used here).
  function nextInt(n) {
    return Math.floor(nextDouble() * n);
  }

  // Random text comes from slices of a fixed pool (lower-case letters, 1 in 13 a space), which
  // is much cheaper than building strings a character at a time.
  const POOL_LENGTH = 8192;
  function makePool(special) {
    const saved = st;
    seed(0x5eed);
    const chars = [];
    for (let i = 0; i < POOL_LENGTH; i++) {
      chars.push(nextInt(13) === 0 ? special : String.fromCharCode(97 + nextInt(26)));
    }
    st = saved;
    return chars.join("");
  }
  const TEXT_POOL = makePool(" ");
  const URL_POOL = makePool("_");
  function nextString(maxLength) {
    const len = 3 + nextInt(maxLength - 3);
    const at = nextInt(POOL_LENGTH - maxLength);
    return TEXT_POOL.slice(at, at + len).trim();
  }
  function nextUrlPart(maxLength) {
    const len = 3 + nextInt(maxLength - 3);
    const at = nextInt(POOL_LENGTH - maxLength);
    return URL_POOL.slice(at, at + len);
  }
  function nextBaseUrl() {
    return "https://www.nexmark.com/" + nextUrlPart(5) + "/" + nextUrlPart(5) + "/" +
        nextUrlPart(5) + "/item.htm?query=1";
  }
  // A flat copy of a concatenated string. The cached URLs go into many records; as the cons
  // strings concatenation makes, every consumer that needs their text (the exchange codec's
  // joins, JSON.stringify) would flatten them again.
  function flat(s) {
    return JSON.parse(JSON.stringify(s));
  }
  function reverseBits32(x) {
    x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
    x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
    x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
    x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
    return ((x >>> 16) | (x << 16)) | 0;
  }

  // Channel names and URLs are a function of the channel number; built on first use.
  const HOT_URLS = [];
  const CHANNEL_NAMES = [];
  const CHANNEL_URLS = [];
  (function () {
    const saved = st;
    for (let i = 0; i < HOT_CHANNELS.length; i++) {
      seed(-1 - i);
      HOT_URLS.push(flat(nextBaseUrl()));
    }
    for (let i = 0; i < CHANNELS_NUMBER; i++) {
      CHANNEL_NAMES.push("");
      CHANNEL_URLS.push("");
    }
    st = saved;
  })();
  function channelUrl(c) {
    let url = CHANNEL_URLS[c];
    if (url === "") {
      const saved = st;
      seed(1e12 + c);
      url = nextBaseUrl();
      if (nextInt(10) > 0) url += "&channel_id=" + Math.abs(reverseBits32(c));
      url = flat(url);
      CHANNEL_URLS[c] = url;
      CHANNEL_NAMES[c] = "channel-" + c;
      st = saved;
    }
    return url;
  }

  // The id rules, as Beam's GeneratorConfig / *Generator (base 0: without the FIRST_*_ID).
  function lastBase0PersonId(n) {
    let offset = n % TOTAL_PROPORTION;
    const epoch = (n - offset) / TOTAL_PROPORTION;
    if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
    return epoch * PERSON_PROPORTION + offset;
  }
  function lastBase0AuctionId(n) {
    let offset = n % TOTAL_PROPORTION;
    let epoch = (n - offset) / TOTAL_PROPORTION;
    if (offset < PERSON_PROPORTION) {
      epoch--;
      offset = AUCTION_PROPORTION - 1;
    } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
      offset = AUCTION_PROPORTION - 1;
    } else {
      offset -= PERSON_PROPORTION;
    }
    return epoch * AUCTION_PROPORTION + offset;
  }
  function nextBase0PersonId(n) {
    const numPeople = lastBase0PersonId(n) + 1;
    const activePeople = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
    return numPeople - activePeople + nextInt(activePeople + PERSON_ID_LEAD);
  }
  function nextBase0AuctionId(n) {
    const maxAuction = lastBase0AuctionId(n);
    const minAuction = Math.max(maxAuction - NUM_IN_FLIGHT_AUCTIONS, 0);
    return minAuction + nextInt(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }
  // Beam's price, 10^(6 * random) dollars in cents; exp is about twice as fast as pow here and
  // the rounding to cents hides their last-bit differences.
  const LN10_TIMES_6 = 6.0 * Math.LN10;
  function nextPrice() {
    return Math.round(Math.exp(nextDouble() * LN10_TIMES_6) * 100.0);
  }
  function pad4(x) {
    return x < 10 ? "000" + x : x < 100 ? "00" + x : x < 1000 ? "0" + x : "" + x;
  }

  function make(config) {
    const baseTime = config.baseTime === undefined ? 1700000000000 : Number(config.baseTime);
    const eventsPerSecond =
        config.eventsPerSecond === undefined ? 10000 : Number(config.eventsPerSecond);
    if (!Number.isFinite(baseTime)) throw new TypeError("nexmark: baseTime must be a number");
    if (!(eventsPerSecond > 0)) throw new TypeError("nexmark: eventsPerSecond must be > 0");
    const msPerEvent = 1000 / eventsPerSecond;
    // Beam: an auction lasts up to twice the time until NUM_IN_FLIGHT_AUCTIONS more auctions
    // have been generated.
    const eventsForAuctions = Math.floor(
        (NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION);

    function timestamp(n) {
      return baseTime + Math.floor(n * msPerEvent);
    }

    function person(n, dateTime) {
      const id = lastBase0PersonId(n) + FIRST_PERSON_ID;
      const name = FIRST_NAMES[nextInt(FIRST_NAMES.length)] + " " +
          LAST_NAMES[nextInt(LAST_NAMES.length)];
      const emailAddress = nextString(7) + "@" + nextString(5) + ".com";
      const creditCard = pad4(nextInt(10000)) + " " + pad4(nextInt(10000)) + " " +
          pad4(nextInt(10000)) + " " + pad4(nextInt(10000));
      const city = US_CITIES[nextInt(US_CITIES.length)];
      const state = US_STATES[nextInt(US_STATES.length)];
      return {type: "person", id: id, name: name, emailAddress: emailAddress,
        creditCard: creditCard, city: city, state: state, dateTime: dateTime, extra: ""};
    }

    function auction(n, dateTime) {
      const id = lastBase0AuctionId(n) + FIRST_AUCTION_ID;
      let seller;
      if (nextInt(HOT_SELLERS_PROB_RATIO) > 0) {
        seller = Math.floor(lastBase0PersonId(n) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO;
      } else {
        seller = nextBase0PersonId(n);
      }
      seller += FIRST_PERSON_ID;
      const category = FIRST_CATEGORY_ID + nextInt(NUM_CATEGORIES);
      const initialBid = nextPrice();
      const horizonMs = timestamp(n + eventsForAuctions) - dateTime;
      const expires = dateTime + 1 + nextInt(Math.max(horizonMs * 2, 1));
      const itemName = nextString(20);
      const description = nextString(100);
      const reserve = initialBid + nextPrice();
      return {type: "auction", id: id, itemName: itemName, description: description,
        initialBid: initialBid, reserve: reserve, dateTime: dateTime, expires: expires,
        seller: seller, category: category, extra: ""};
    }

    function bid(n, dateTime) {
      let auction;
      if (nextInt(HOT_AUCTIONS_PROB_RATIO) > 0) {
        auction = Math.floor(lastBase0AuctionId(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO;
      } else {
        auction = nextBase0AuctionId(n);
      }
      auction += FIRST_AUCTION_ID;
      let bidder;
      if (nextInt(HOT_BIDDERS_PROB_RATIO) > 0) {
        bidder = Math.floor(lastBase0PersonId(n) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
      } else {
        bidder = nextBase0PersonId(n);
      }
      bidder += FIRST_PERSON_ID;
      const price = nextPrice();
      let channel;
      let url;
      if (nextInt(HOT_CHANNELS_RATIO) > 0) {
        const i = nextInt(HOT_CHANNELS.length);
        channel = HOT_CHANNELS[i];
        url = HOT_URLS[i];
      } else {
        const c = nextInt(CHANNELS_NUMBER);
        url = channelUrl(c);
        channel = CHANNEL_NAMES[c];
      }
      return {type: "bid", auction: auction, bidder: bidder, price: price, channel: channel,
        url: url, dateTime: dateTime, extra: ""};
    }

    return function event(n) {
      seed(n);
      const dateTime = timestamp(n);
      const rem = n % TOTAL_PROPORTION;
      if (rem < PERSON_PROPORTION) return person(n, dateTime);
      if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) return auction(n, dateTime);
      return bid(n, dateTime);
    };
  }

  return {
    make: make,
    constants: {FIRST_PERSON_ID, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, NUM_CATEGORIES,
      NUM_ACTIVE_PEOPLE, NUM_IN_FLIGHT_AUCTIONS, PERSON_ID_LEAD, AUCTION_ID_LEAD},
  };
})();
