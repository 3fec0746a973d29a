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
// binary heap of { time, seq, keyGroup, keyString, key } in (time, registration) order — no Maps
// per time, as most session timers have a millisecond of their own. Registering a (time, key)
// the heap holds adds a second entry; it fires right after the first, at the same time, and
// onSessionTimer's firedKeys makes it a no-op, as ctx.timers would have kept one timer.
// Checkpoints write them directly (ctx.timers.adopt(sessionTimers, "session"); the format is
// timers.js's "Own timers"): each checkpoint writes the timers registered since the last one, an
// entry per key group (freeze(out) at the barrier swaps the list of them, take(budget) writes
// it between batches), and deletes an entry once all its timers fired. A timer that fires after
// the barrier but before its turn is still written (the checkpoint's view is the barrier's).
//
// The script's completion value is a frozen object { install, SessionTimers }.
(function () {
  "use strict";

  class SessionTimers {
    constructor() {
      this.heap = [];
      this.order = new Float64Array(64);  // (time, seq) of heap[i] at 2i, 2i + 1
      this.seq = 0;
      // Checkpoints (see the top). added: the timers registered since the last checkpoint (null:
      // not tracked); gen: the current generation, stamped on a timer when it fires (`fired`;
      // 0: live); frozen: the frozen checkpoint's list, written from frozenAt on; gone and
      // frozenGone: [keyGroup, key, ...] of entries whose timers all fired, deleted by the next
      // checkpoint and by the frozen one.
      this.added = null;
      this.compactAt = 1024;  // added's length at which its fired timers leave it
      this.gen = 1;
      this.frozen = null;
      this.frozenAt = 0;
      this.frozenGen = 0;
      this.out = null;
      this.gone = [];
      this.frozenGone = [];
      this.entryKey = null;  // the entry format, given by ctx.timers.adopt()
      this.entryValue = null;
      // An entry's timers fire at different times, and an entry is deleted only when all did: a
      // restore tells the fired ones by a mark per key group, the time up to which every timer
      // fired at the checkpoint's barrier (timers fire in time order, and one registered later is
      // later than the watermark, so a live timer is always later than firedUpTo).
      this.firedUpTo = -Infinity;
      this.frozenUpTo = -Infinity;
      this.groups = new Map();  // key group -> { entries: live entries, upTo: its mark }
    }
    get count() {
      return this.heap.length;
    }
    add(time, keyGroup, keyString, key) {
      const t = { time, seq: this.seq++, keyGroup, keyString, key, fired: 0, entry: null };
      this.push(t);
      const added = this.added;
      if (added !== null) {
        // Timers that fired since the last checkpoint are not written (take() skips them): once
        // they are half the list they leave it, so that a job with rare or no checkpoints does
        // not keep every timer it ever had.
        if (added.length >= this.compactAt) this.compact();
        this.added.push(t);
      }
    }
    compact() {
      const live = this.added.filter((t) => t.fired === 0);
      this.added = live;
      this.compactAt = Math.max(1024, 2 * live.length);
    }
    // The heap orders by (time, seq), which it keeps in a typed array beside the timers
    // (`order`: time, then seq, a pair per place): comparing reads no timer object.
    push(t) {
      const heap = this.heap, time = t.time, seq = t.seq;
      let i = heap.length;
      heap.push(t);
      if (2 * heap.length > this.order.length) this.grow();
      const order = this.order;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const pt = order[2 * p];
        if (pt < time || (pt === time && order[2 * p + 1] < seq)) break;  // registered first
        heap[i] = heap[p];
        order[2 * i] = pt;
        order[2 * i + 1] = order[2 * p + 1];
        i = p;
      }
      heap[i] = t;
      order[2 * i] = time;
      order[2 * i + 1] = seq;
    }
    grow() {
      const order = new Float64Array(Math.max(64, 2 * this.order.length));
      order.set(this.order);
      this.order = order;
    }
    // The earliest time (count > 0).
    next() {
      return this.order[0];
    }
    // Removes and returns the earliest timer (to fire it).
    shift() {
      const heap = this.heap, order = this.order;
      const top = heap[0];
      const last = heap.pop();
      const n = heap.length;
      if (n > 0) {
        const time = order[2 * n], seq = order[2 * n + 1];  // last's
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
          if (!(ct < time || (ct === time && cs < seq))) break;
          heap[i] = heap[c];
          order[2 * i] = ct;
          order[2 * i + 1] = cs;
          i = c;
        }
        heap[i] = last;
        order[2 * i] = time;
        order[2 * i + 1] = seq;
      }
      this.firedUpTo = top.time;
      if (this.added !== null) {
        top.fired = this.gen;
        const entry = top.entry;
        if (entry !== null && --entry.live === 0) this.drop(entry);
      }
      return top;
    }

    // Checkpoints (see the top; called by ctx.timers).
    track() {
      // Every live timer not restored (in an entry already) is new.
      if (this.added === null) this.added = this.heap.filter((t) => t.entry === null);
    }
    freeze(out) {
      if (this.frozen !== null) throw new Error("session timers: a checkpoint is frozen already");
      this.track();
      this.frozen = this.added;
      this.frozenAt = 0;
      this.frozenGen = this.gen++;
      this.added = [];
      this.out = out;
      this.frozenGone = this.gone;
      this.gone = [];
      this.frozenUpTo = this.firedUpTo;
    }
    // An entry whose timers all fired: deleted by the next checkpoint.
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
      const gen = this.frozenGen;
      const groups = new Map();  // key group -> timers
      for (let i = from; i < to; i++) {
        const t = frozen[i];
        if (t.fired !== 0 && t.fired <= gen) continue;  // fired before the barrier
        const list = groups.get(t.keyGroup);
        if (list === undefined) groups.set(t.keyGroup, [t]);
        else list.push(t);
      }
      const out = this.out;
      for (const [keyGroup, list] of groups) {
        const n = list.length;
        const times = new Array(n), seqs = new Array(n), keyStrings = new Array(n);
        const keys = new Array(n);
        const entry = { keyGroup, key: this.entryKey("session", list[0].seq), live: 0 };
        for (let j = 0; j < n; j++) {
          const t = list[j];
          times[j] = t.time;
          seqs[j] = t.seq;
          keyStrings[j] = t.keyString;
          keys[j] = t.key;
          if (t.fired === 0) {
            t.entry = entry;
            entry.live++;
          }
        }
        out.push(keyGroup, entry.key, this.entryValue([times], seqs, keyStrings, keys));
        this.group(keyGroup).entries++;
        if (entry.live === 0) this.drop(entry);  // all fired meanwhile
      }
      this.frozenAt = to;
      if (to < frozen.length) return false;
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
      const again = [];
      for (let i = this.frozenAt; i < frozen.length; i++) {
        if (frozen[i].fired === 0) again.push(frozen[i]);
      }
      this.added = again.concat(this.added);
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
          entry = { keyGroup: r.keyGroup, key: r.entryKey, live: 0 };
          entries.set(id, entry);
          this.group(r.keyGroup).entries++;
        }
        if (r.seq >= this.seq) this.seq = r.seq + 1;
        if (r.time <= this.group(r.keyGroup).upTo) continue;
        entry.live++;
        this.push({ time: r.time, seq: r.seq, keyGroup: r.keyGroup, keyString: r.keyString,
                    key: r.key, fired: 0, entry });
      }
      for (const entry of entries.values()) {
        if (entry.live === 0) this.drop(entry);
      }
    }
    // Every timer in firing order (the heap stays).
    sorted() {
      return this.heap.slice().sort((a, b) => (before(a, b) ? -1 : 1));
    }
  }

  function before(a, b) {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  function install(proto, config) {
    const { STRIDE, removeWindow, COUNT } = config;
    const methods = {
      // Session windows: [time, time + gap) merges with every window of the key it intersects.
      // runEnd: a combiner's run of records (windows.js processRun) is [time, runEnd).
      addToSession(keyGroup, keyString, key, record, time, watermark, runEnd) {
        let start = time, end = runEnd === undefined ? time + this.gap : runEnd;
        let ws = this.state.get(keyGroup, keyString);
        if (ws === undefined) ws = [];
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
