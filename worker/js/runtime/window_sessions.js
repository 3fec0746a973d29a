// Session windows: the methods of the window operator (windows.js) for them, installed on its
// prototype by install(proto, config) (config: window_config.js). A record opens [ts, ts + gap)
// and merges with every window of its key it intersects (touching counts).
//
// Timers. A session's window moves while records extend it (nearly every record does),
// so its timers are not tied to one window: they have the namespace "" and mean "look at this
// key's sessions now". A session's due time is its end - 1 until its time trigger fired, then
// its cleanup time (the count trigger has only the cleanup time). The invariant: every session
// has a live timer at or before its due time. A session that grows keeps the timer it has (its
// due time only grows), unless its trigger had fired and it is due again; when a timer fires, the
// key's sessions due then fire or are cleaned up, and every other session of the key registers
// a timer at its due time (a no-op when there is one: a timer is (time, key, namespace)). So a
// session extended many times costs one timer, moved when it fires, as Flink's lazy timers.
//
// Event-time session timers are kept by the operator (SessionTimers below), not in ctx.timers: a
// binary heap of (time, seq, keyGroup, keyString, key) in (time, registration) order — no Maps
// per time, as most session timers have a millisecond of their own, and no object per timer
// (typed arrays and slots, below: a session's timers cost the GC nothing). Registering a
// (time, key) the heap holds adds a second entry; it fires right after the first, at the same
// time, and onSessionTimer's firedKeys makes it a no-op, as ctx.timers would have kept one timer.
// Checkpoints write them directly (ctx.timers.adopt(sessionTimers, "session"); the format is
// timers.js's "Own timers"): each checkpoint writes the timers registered since the last one, an
// entry per key group (freeze(out) at the barrier swaps the log of them, take(budget) writes
// it between batches), and deletes an entry once all its timers fired. A timer that fires after
// the barrier but before its turn is still written (the checkpoint's view is the barrier's).
// Whether a timer fired is told by its time (see firedUpTo), so nothing is stamped on timers.
//
// The script's completion value is a frozen object { install, SessionTimers }.
(function () {
  "use strict";

  // Timers registered since a checkpoint, in registration order: their fields in parallel
  // arrays (no object per timer), of a capacity that only grows (a log is compacted over and
  // over; an array whose length is cut gives its room back and must grow again).
  class TimerLog {
    constructor() {
      this.length = 0;
      this.capacity = 0;
      this.times = new Float64Array(0);
      this.seqs = new Float64Array(0);
      this.keyGroups = new Int32Array(0);
      this.keyStrings = [];
      this.keys = [];
    }
    push(time, seq, keyGroup, keyString, key) {
      const i = this.length;
      if (i === this.capacity) this.grow();
      this.times[i] = time;
      this.seqs[i] = seq;
      this.keyGroups[i] = keyGroup;
      this.keyStrings[i] = keyString;
      this.keys[i] = key;
      this.length = i + 1;
    }
    grow() {
      const capacity = Math.max(256, 2 * this.capacity);
      const times = new Float64Array(capacity), seqs = new Float64Array(capacity);
      const keyGroups = new Int32Array(capacity);
      times.set(this.times);
      seqs.set(this.seqs);
      keyGroups.set(this.keyGroups);
      this.times = times;
      this.seqs = seqs;
      this.keyGroups = keyGroups;
      // (undefined, not 0: small integers first, the first other key deoptimised each new log)
      for (let i = this.capacity; i < capacity; i++) {
        this.keyStrings.push("");
        this.keys.push(undefined);
      }
      this.capacity = capacity;
    }
    // Keeps only the timers later than `upTo` (the others fired), in place.
    keepAfter(upTo) {
      const times = this.times, seqs = this.seqs, keyGroups = this.keyGroups;
      const keyStrings = this.keyStrings, keys = this.keys, length = this.length;
      let n = 0;
      for (let i = 0; i < length; i++) {
        if (!(times[i] > upTo)) continue;
        times[n] = times[i];
        seqs[n] = seqs[i];
        keyGroups[n] = keyGroups[i];
        keyStrings[n] = keyStrings[i];
        keys[n] = keys[i];
        n++;
      }
      for (let i = n; i < length; i++) {  // (no key kept alive by a fired timer)
        keyStrings[i] = "";
        keys[i] = undefined;
      }
      this.length = n;
    }
  }

  class SessionTimers {
    constructor() {
      // The heap, by place i: (time, seq) at order[2i], order[2i + 1] and the timer's slot at
      // slotAt[i]; a slot holds the timer's key group, key string and key until it fires. Sifting
      // moves numbers in typed arrays only: no timer object, nothing for the GC.
      this.n = 0;
      this.capacity = 64;
      this.order = new Float64Array(128);
      this.slotAt = new Int32Array(64);
      this.slotGroup = new Int32Array(64);
      this.slotString = new Array(64).fill("");
      this.slotKey = new Array(64).fill(undefined);  // (any value: see TimerLog.grow)
      this.free = new Int32Array(64);  // free slots: free[0 .. nFree)
      this.nFree = 0;
      this.slots = 0;  // slots used so far (the others: slots .. capacity)
      this.seq = 0;
      // The timer shift() returns, the same object each time (valid until the next shift).
      this.fired = { time: 0, keyGroup: 0, keyString: "", key: undefined };
      // Checkpoints (see the top). log: the timers registered since the last checkpoint (null:
      // not tracked), those that fired since left out once they are half of it; frozen: the
      // frozen checkpoint's log, written from frozenAt on; gone and frozenGone: [keyGroup, key,
      // ...] of entries whose timers all fired, deleted by the next checkpoint and by the
      // frozen one. trackFrom: the first seq not restored (restored timers are in entries).
      this.log = null;
      this.compactAt = 1024;  // the log's length at which its fired timers leave it
      this.trackFrom = 0;
      this.frozen = null;
      this.frozenAt = 0;
      this.out = null;
      this.gone = [];
      this.frozenGone = [];
      this.entryKey = null;  // the entry format, given by ctx.timers.adopt()
      this.entryValue = null;
      // Which timers fired: they fire in (time, seq) order, one registered later is later than
      // the watermark, and checkpoints are taken between calls, when every timer at or before
      // the watermark fired: so between calls a timer fired exactly when its time is at or
      // before firedUpTo (the time of the last fired). A restore tells the fired ones of an
      // entry by a mark per key group, the time up to which every timer fired at the
      // checkpoint's barrier (frozenUpTo). An entry is deleted once all its timers fired: its
      // `last` (the time of its latest live timer) is at or before firedUpTo; `waiting` holds
      // the entries with live timers, a heap by `last`.
      this.firedUpTo = -Infinity;
      this.frozenUpTo = -Infinity;
      this.waiting = [];
      this.groups = new Map();  // key group -> { entries: live entries, upTo: its mark }
    }
    get count() {
      return this.n;
    }
    add(time, keyGroup, keyString, key) {
      const seq = this.seq++;
      this.push(time, seq, keyGroup, keyString, key);
      const log = this.log;
      if (log !== null) {
        // Timers that fired since the last checkpoint are not written (take() skips them): once
        // the log is twice its live part they leave it, so that a job with rare or no
        // checkpoints does not keep every timer it ever had.
        if (log.length >= this.compactAt) this.compact();
        log.push(time, seq, keyGroup, keyString, key);
      }
    }
    // (Also while timers of time T fire, when those of T not fired yet leave the log too: they
    // fire before the call ends, so before the next checkpoint.)
    compact() {
      this.log.keepAfter(this.firedUpTo);
      this.compactAt = Math.max(1024, 2 * this.log.length);
    }
    push(time, seq, keyGroup, keyString, key) {
      if (this.n === this.capacity) this.grow();
      const slot = this.nFree > 0 ? this.free[--this.nFree] : this.slots++;
      this.slotGroup[slot] = keyGroup;
      this.slotString[slot] = keyString;
      this.slotKey[slot] = key;
      const order = this.order, slotAt = this.slotAt;
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const pt = order[2 * p];
        if (pt < time || (pt === time && order[2 * p + 1] < seq)) break;  // registered first
        order[2 * i] = pt;
        order[2 * i + 1] = order[2 * p + 1];
        slotAt[i] = slotAt[p];
        i = p;
      }
      order[2 * i] = time;
      order[2 * i + 1] = seq;
      slotAt[i] = slot;
    }
    grow() {
      const capacity = 2 * this.capacity;
      const order = new Float64Array(2 * capacity);
      order.set(this.order);
      this.order = order;
      for (const name of ["slotAt", "slotGroup", "free"]) {
        const a = new Int32Array(capacity);
        a.set(this[name]);
        this[name] = a;
      }
      for (let i = this.capacity; i < capacity; i++) {
        this.slotString.push("");
        this.slotKey.push(undefined);
      }
      this.capacity = capacity;
    }
    // The earliest time (count > 0).
    next() {
      return this.order[0];
    }
    // Removes the earliest timer and returns it (to fire it) as this.fired.
    shift() {
      const order = this.order, slotAt = this.slotAt;
      const fired = this.fired, slot = slotAt[0], time = order[0];
      fired.time = time;
      fired.keyGroup = this.slotGroup[slot];
      fired.keyString = this.slotString[slot];
      fired.key = this.slotKey[slot];
      this.slotString[slot] = "";
      this.slotKey[slot] = undefined;
      this.free[this.nFree++] = slot;
      const n = --this.n;
      if (n > 0) {
        const lastTime = order[2 * n], lastSeq = order[2 * n + 1], lastSlot = slotAt[n];
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          let c = l, ct = order[2 * l], cs = order[2 * l + 1];
          if (r < n) {
            const rt = order[2 * r], rs = order[2 * r + 1];
            if (rt < ct || (rt === ct && rs < cs)) {
              c = r;
              ct = rt;
              cs = rs;
            }
          }
          if (!(ct < lastTime || (ct === lastTime && cs < lastSeq))) break;
          order[2 * i] = ct;
          order[2 * i + 1] = cs;
          slotAt[i] = slotAt[c];
          i = c;
        }
        order[2 * i] = lastTime;
        order[2 * i + 1] = lastSeq;
        slotAt[i] = lastSlot;
      }
      this.firedUpTo = time;
      return fired;
    }

    // Checkpoints (see the top; called by ctx.timers).
    track() {
      if (this.log !== null) return;
      // Every live timer not restored (in an entry already) is new.
      const log = new TimerLog();
      const order = this.order;
      for (let i = 0; i < this.n; i++) {
        const seq = order[2 * i + 1], slot = this.slotAt[i];
        if (seq < this.trackFrom) continue;
        log.push(order[2 * i], seq, this.slotGroup[slot], this.slotString[slot],
                 this.slotKey[slot]);
      }
      this.log = log;
    }
    freeze(out) {
      if (this.frozen !== null) throw new Error("session timers: a checkpoint is frozen already");
      this.track();
      this.settle();
      this.frozen = this.log;
      this.frozenAt = 0;
      this.log = new TimerLog();
      this.compactAt = 1024;
      this.out = out;
      this.frozenGone = this.gone;
      this.gone = [];
      this.frozenUpTo = this.firedUpTo;
    }
    // Entries whose timers all fired: deleted by the next checkpoint.
    settle() {
      const waiting = this.waiting, upTo = this.firedUpTo;
      while (waiting.length > 0 && waiting[0].last <= upTo) this.drop(popEntry(waiting));
    }
    drop(entry) {
      this.gone.push(entry.keyGroup, entry.key);
      this.group(entry.keyGroup).entries--;
    }
    group(keyGroup) {
      let g = this.groups.get(keyGroup);
      if (g === undefined) {
        g = { entries: 0, upTo: -Infinity };
        this.groups.set(keyGroup, g);
      }
      return g;
    }
    // Writes up to `budget` frozen timers; true when the frozen checkpoint has them all.
    take(budget) {
      const frozen = this.frozen;
      if (frozen === null) return true;
      const from = this.frozenAt;
      const to = frozen.length - from > budget ? from + budget : frozen.length;
      const frozenUpTo = this.frozenUpTo, firedUpTo = this.firedUpTo;
      const ftimes = frozen.times, fseqs = frozen.seqs, fgroups = frozen.keyGroups;
      const groups = new Map();  // key group -> places in the frozen log
      for (let i = from; i < to; i++) {
        if (ftimes[i] <= frozenUpTo) continue;  // fired before the barrier
        const list = groups.get(fgroups[i]);
        if (list === undefined) groups.set(fgroups[i], [i]);
        else list.push(i);
      }
      const out = this.out;
      for (const [keyGroup, list] of groups) {
        const n = list.length;
        const times = new Array(n), seqs = new Array(n), keyStrings = new Array(n);
        const keys = new Array(n);
        const entry = { keyGroup, key: this.entryKey("session", fseqs[list[0]]), last: -Infinity };
        for (let j = 0; j < n; j++) {
          const i = list[j], time = ftimes[i];
          times[j] = time;
          seqs[j] = fseqs[i];
          keyStrings[j] = frozen.keyStrings[i];
          keys[j] = frozen.keys[i];
          if (time > firedUpTo && time > entry.last) entry.last = time;  // live
        }
        out.push(keyGroup, entry.key, this.entryValue([times], seqs, keyStrings, keys));
        this.group(keyGroup).entries++;
        if (entry.last === -Infinity) this.drop(entry);  // all fired meanwhile
        else pushEntry(this.waiting, entry);
      }
      this.frozenAt = to;
      if (to < frozen.length) return false;
      // Entries whose last timer fired since the barrier leave their group's count now, as if
      // they had when it fired; the next checkpoint deletes them.
      this.settle();
      const gone = this.frozenGone;
      for (let i = 0; i < gone.length; i += 2) out.push(gone[i], gone[i + 1], null);
      const upTo = this.frozenUpTo;
      if (Number.isFinite(upTo)) {
        for (const [keyGroup, g] of this.groups) {
          if (g.entries > 0 && upTo > g.upTo) {
            out.push(keyGroup, this.entryKey("session"), String(upTo));
            g.upTo = upTo;
          }
        }
      }
      this.frozenGone = [];
      this.frozen = null;
      this.out = null;
      return true;
    }
    // A checkpoint given up: its unwritten live timers are new again, its deletions to come.
    abort() {
      const frozen = this.frozen;
      if (frozen === null) return;
      const again = new TimerLog(), log = this.log, upTo = this.firedUpTo;
      for (let i = this.frozenAt; i < frozen.length; i++) {
        if (frozen.times[i] > upTo) {
          again.push(frozen.times[i], frozen.seqs[i], frozen.keyGroups[i], frozen.keyStrings[i],
                     frozen.keys[i]);
        }
      }
      for (let i = 0; i < log.length; i++) {
        again.push(log.times[i], log.seqs[i], log.keyGroups[i], log.keyStrings[i], log.keys[i]);
      }
      this.log = again;
      this.compactAt = Math.max(1024, 2 * again.length);
      this.frozen = null;
      this.out = null;
      this.gone = this.frozenGone.concat(this.gone);
      this.frozenGone = [];
    }
    // Restored timers (timers.js, parseOwnEntry, kind "session": timers, and marks), before any
    // other is added. A timer at or before its key group's mark had fired: not registered.
    restore(list) {
      for (const r of list) {
        if (r.mark) this.group(r.keyGroup).upTo = r.time;
      }
      const entries = new Map();
      for (const r of list) {
        if (r.mark) continue;
        const id = r.keyGroup + "\u0000" + r.entryKey;
        let entry = entries.get(id);
        if (entry === undefined) {
          entry = { keyGroup: r.keyGroup, key: r.entryKey, last: -Infinity };
          entries.set(id, entry);
          this.group(r.keyGroup).entries++;
        }
        if (r.seq >= this.seq) this.seq = r.seq + 1;
        if (r.time <= this.group(r.keyGroup).upTo) continue;
        if (r.time > entry.last) entry.last = r.time;
        this.push(r.time, r.seq, r.keyGroup, r.keyString, r.key);
      }
      for (const entry of entries.values()) {
        if (entry.last === -Infinity) this.drop(entry);
        else pushEntry(this.waiting, entry);
      }
      this.trackFrom = this.seq;
    }
    // Every live timer as { time, seq, keyGroup, keyString, key }, in firing order (for tests).
    sorted() {
      const list = [];
      for (let i = 0; i < this.n; i++) {
        const slot = this.slotAt[i];
        list.push({ time: this.order[2 * i], seq: this.order[2 * i + 1],
                    keyGroup: this.slotGroup[slot], keyString: this.slotString[slot],
                    key: this.slotKey[slot] });
      }
      return list.sort((a, b) => a.time - b.time || a.seq - b.seq);
    }
    // Timers the log keeps for the next checkpoint (for tests).
    get logged() {
      return this.log === null ? 0 : this.log.length;
    }
  }

  // The heap of entries by `last` (SessionTimers.waiting).
  function pushEntry(heap, entry) {
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p].last <= entry.last) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = entry;
  }
  function popEntry(heap) {
    const top = heap[0], last = heap.pop(), n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && heap[l + 1].last < heap[l].last ? l + 1 : l;
      if (heap[c].last >= last.last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
    return top;
  }

  function install(proto, config) {
    const { STRIDE, removeWindow, COUNT } = config;
    const methods = {
      // Session windows: [time, time + gap) merges with every window of the key it intersects.
      // runEnd: a combiner's run of records (windows.js processRun) is [time, runEnd).
      // The common way a session grows first, small enough for TurboFan to inline into the
      // driver's loop: the key's one window, which the record meets, extended. Its timer stays
      // (see "Session timers"), unless its trigger fired and the new end is due again. Anything
      // else: addToSessions.
      addToSession(keyGroup, keyString, key, record, time, watermark, runEnd) {
        const end = runEnd === undefined ? time + this.gap : runEnd;
        const ws = this.state.get(keyGroup, keyString);
        if (ws === undefined || ws.length !== STRIDE || !(ws[0] <= end && ws[1] >= time)) {
          return this.addToSessions(keyGroup, keyString, key, record, time, end, watermark, ws);
        }
        const oldEnd = ws[1];
        if (time < ws[0]) ws[0] = time;
        if (end > oldEnd) {
          ws[1] = end;
          if (this.trigger !== COUNT && oldEnd - 1 <= watermark && end - 1 > watermark) {
            this.registerSessionTimer(keyGroup, keyString, key, end - 1);
          }
        }
        ws[2] = this.add(ws[2], record);
        this.onElementAdded(ws, 0, key, watermark);
        this.state.put(keyGroup, keyString, ws);
        return true;
      },

      // addToSession's other cases: [start, end) for a key with no window, several, or one it
      // does not meet (ws: the key's window list, or undefined).
      addToSessions(keyGroup, keyString, key, record, start, end, watermark, ws) {
        if (ws === undefined) {
          // A key without sessions (most new sessions): its list made at its size (push() on an
          // empty array leaves room for ~20 more, all of it kept as long as the session lives).
          if (end - 1 + this.lateness <= watermark) return false;
          ws = [start, end, this.first(record, 0), 0];
          this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
          this.onElementAdded(ws, 0, key, watermark);
          this.state.put(keyGroup, keyString, ws);
          return true;
        }
        let hits = 0, hit = -1;
        for (let i = 0; i < ws.length; i += STRIDE) {
          if (ws[i] <= end && ws[i + 1] >= start) {
            hits++;
            hit = i;
          }
        }
        let i;
        if (hits === 0) {
          // Alone, the new window can be late; merged with an existing one it cannot (that one's
          // cleanup timer has not fired).
          if (end - 1 + this.lateness <= watermark) return false;
          i = ws.length;
          ws.push(start, end, this.first(record, 0), 0);
          this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
        } else if (hits === 1) {
          // The common way a session grows: one window, extended. Its timer stays (see "Session
          // timers"), unless its trigger fired and the new end is due again.
          i = hit;
          const oldEnd = ws[i + 1];
          if (start < ws[i]) ws[i] = start;
          if (end > oldEnd) {
            ws[i + 1] = end;
            if (this.trigger !== COUNT && oldEnd - 1 <= watermark && end - 1 > watermark) {
              this.registerSessionTimer(keyGroup, keyString, key, end - 1);
            }
          }
          ws[i + 2] = this.add(ws[i + 2], record);
        } else {
          // Merge the windows it touches, in order of start, into one.
          const merged = [];
          const kept = [];
          for (let j = 0; j < ws.length; j += STRIDE) {
            const into = ws[j] <= end && ws[j + 1] >= start ? merged : kept;
            into.push(ws[j], ws[j + 1], ws[j + 2], ws[j + 3]);
          }
          const order = [];
          for (let j = 0; j < merged.length; j += STRIDE) order.push(j);
          order.sort((a, b) => merged[a] - merged[b]);
          let acc, pending = 0;
          for (let n = 0; n < order.length; n++) {
            const j = order[n];
            start = Math.min(start, merged[j]);
            end = Math.max(end, merged[j + 1]);
            acc = n === 0 ? merged[j + 2] : this.merge(acc, merged[j + 2]);
            pending += merged[j + 3];
          }
          ws = kept;
          i = ws.length;
          ws.push(start, end, this.add(acc, record), pending);
          // The merged windows' timers stay (each at or before its window's due time, so at or
          // before the merged one's), except that the merged window may be due again.
          this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
        }
        this.onElementAdded(ws, i, key, watermark);
        this.state.put(keyGroup, keyString, ws);
        return true;
      },

      // The first time after `after` at which a session ending at `end` is due: its end - 1 while
      // its time trigger has not fired, then its cleanup time.
      sessionDue(end, after) {
        return this.trigger !== COUNT && end - 1 > after ? end - 1 : this.cleanupTime(end);
      },

      registerSessionTimer(keyGroup, keyString, key, time) {
        if (this.eventTime) {
          this.sessionTimers.add(time, keyGroup, keyString, key);
        } else {
          this.timers.registerProcessingTimeTimer(time, keyGroup, keyString, key, "");
        }
      },

      // A timer of a key's sessions (in the operator's time domain): the sessions due at its time
      // fire or are cleaned up, the others register a timer at their due time. A key has one
      // session timer per time, but a checkpoint taken before session timers had the namespace ""
      // holds timers "start:end" for the trigger and cleanup of each window, which may share a
      // time with another: firedKey and firedKeys handle a key once per time.
      onSessionTimer(timer) {
        const time = timer.time, keyGroup = timer.keyGroup, keyString = timer.keyString;
        if (time !== this.firedTime) {
          // Most times are one key's: the first is kept apart, and the Set (whose clear()
          // allocates a new table) is used only for the others.
          this.firedTime = time;
          this.firedKey = keyString;
          if (this.firedKeys.size !== 0) this.firedKeys.clear();
        } else {
          if (keyString === this.firedKey || this.firedKeys.has(keyString)) return;
          this.firedKeys.add(keyString);
        }
        const ws = this.state.get(keyGroup, keyString);
        if (ws === undefined) return;
        let removed = false;
        for (let i = 0; i < ws.length;) {
          const start = ws[i], end = ws[i + 1];
          const cleanup = time === this.cleanupTime(end);
          const fires = this.trigger !== COUNT ? time === end - 1
            : cleanup && this.ending() && ws[i + 3] > 0;
          if (fires) this.emitWindow(timer.key, start, end, ws[i + 2], !cleanup);
          if (cleanup) {
            removeWindow(ws, i);
            removed = true;
          } else {
            this.registerSessionTimer(keyGroup, keyString, timer.key, this.sessionDue(end, time));
            i += STRIDE;
          }
        }
        if (!removed) return;
        if (ws.length === 0) {
          this.state.delete(keyGroup, keyString);
        } else {
          this.state.put(keyGroup, keyString, ws);
        }
      },

    };
    for (const name of Object.keys(methods)) {
      Object.defineProperty(proto, name, { value: methods[name], writable: true, configurable: true });
    }
  }

  return Object.freeze({ install, SessionTimers });
})();
