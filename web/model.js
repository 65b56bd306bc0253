// What the page holds of the queue, and how QueueUpdates (supervisor.proto, in protobuf's JSON
// mapping) apply to it. Protobuf's JSON mapping leaves out every field at its default value
// (0, false, "", empty lists, unset messages), so every read here supplies the default.

// Thrown by apply() when an update does not follow the one before it: the stream must be
// reopened without resuming, for a full view.
export class SequenceGap extends Error {}

// Milliseconds since the epoch of an RFC 3339 timestamp ("2026-11-30T21:15:01.123456789Z"), or
// null when absent or unreadable. Date.parse is not relied on for more than 3 fraction digits.
export function parseTimestamp(text) {
  if (!text) {
    return null;
  }
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) {
    return null;
  }
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) {
    return null;
  }
  const fraction = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return ms + fraction;
}

// Milliseconds of a protobuf JSON Duration ("12.500s", "-1s"); 0 when absent or unreadable.
export function parseDuration(text) {
  if (!text) {
    return 0;
  }
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(text);
  return m ? Number(m[1]) * 1000 : 0;
}

// int64/uint64 arrive as strings (numbers are accepted too); 0 when absent.
export function parseInt64(value) {
  if (value === undefined || value === null || value === '') {
    return 0;
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

const PRIORITY_RANK = {
  PRIORITY_EMERGENCY: 4,
  PRIORITY_HIGH: 3,
  PRIORITY_NORMAL: 2,
  PRIORITY_LOW: 1,
};

export function priorityRank(priority) {
  return PRIORITY_RANK[priority] ?? 0;
}

// Waiting calls are served by priority, highest first, then by admission (supervisor.proto).
export function queueOrder(a, b) {
  const p = priorityRank(b.priority) - priorityRank(a.priority);
  if (p !== 0) {
    return p;
  }
  if (a.admission !== b.admission) {
    return a.admission - b.admission;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// A CallStatus with its defaults filled in and its times as milliseconds. `atMs` is the time of
// the update that carried it, for a call without an arrival time.
function normaliseCall(raw, atMs) {
  const summary = raw.summary ?? {};
  const arrivedMs = parseTimestamp(summary.arrivedAt) ?? atMs - parseDuration(raw.waited);
  return {
    id: summary.callId ?? '',
    callerMasked: summary.callerMasked ?? '',
    province: summary.province ?? '',
    language: summary.language ?? '',
    topic: summary.topic ?? 'TOPIC_UNSPECIFIED',
    priority: summary.priority ?? 'PRIORITY_UNSPECIFIED',
    repeatCaller: summary.repeatCaller ?? false,
    arrivedMs,
    state: raw.state ?? 'CALL_STATE_UNSPECIFIED',
    ladderStep: raw.ladderStep ?? 0,
    counsellorId: raw.counsellorId ?? '',
    position: raw.position ?? 0,
    admission: parseInt64(raw.admission),
  };
}

function normaliseCounsellor(raw, atMs) {
  return {
    id: raw.counsellorId ?? '',
    name: raw.displayName ?? '',
    state: raw.state ?? 'COUNSELLOR_STATE_UNSPECIFIED',
    breakReason: raw.breakReason ?? 'BREAK_REASON_UNSPECIFIED',
    sinceMs: parseTimestamp(raw.since) ?? atMs,
    callId: raw.callId ?? '',
    deskConnected: raw.deskConnected ?? false,
  };
}

function normaliseFigures(raw) {
  const f = raw ?? {};
  return {
    offered: f.offered ?? 0,
    answered: f.answered ?? 0,
    answeredInTarget: f.answeredInTarget ?? 0,
    abandoned: f.abandoned ?? 0,
    shortAbandoned: f.shortAbandoned ?? 0,
    otherUnanswered: f.otherUnanswered ?? 0,
    // proto3 `optional`: absent means "no calls counted", not 0.
    serviceLevel: typeof f.serviceLevel === 'number' ? f.serviceLevel : null,
    abandonmentRate: typeof f.abandonmentRate === 'number' ? f.abandonmentRate : null,
    averageSpeedOfAnswerMs: f.averageSpeedOfAnswer === undefined ? null : parseDuration(f.averageSpeedOfAnswer),
    handled: f.handled ?? 0,
    averageHandlingTimeMs: f.averageHandlingTime === undefined ? null : parseDuration(f.averageHandlingTime),
    occupancy: typeof f.occupancy === 'number' ? f.occupancy : null,
    answeredInOwnProvince: f.answeredInOwnProvince ?? 0,
    answeredInOwnCentre: f.answeredInOwnCentre ?? 0,
  };
}

function normaliseSummary(raw) {
  const s = raw ?? {};
  const figures = s.figures ?? {};
  return {
    waiting: (s.waiting ?? []).map((g) => ({
      centre: g.centre ?? '',
      province: g.province ?? '',
      priority: g.priority ?? 'PRIORITY_UNSPECIFIED',
      count: g.count ?? 0,
      longestWaitMs: parseDuration(g.longestWait),
    })),
    waitingTotal: s.waitingTotal ?? 0,
    waitingNotListed: s.waitingNotListed ?? 0,
    longestWaitMs: parseDuration(s.longestWait),
    availableCounsellors: s.availableCounsellors ?? 0,
    last15: normaliseFigures(figures.last15Minutes),
    today: normaliseFigures(figures.today),
    alerts: (s.alerts ?? []).map((a) => ({
      kind: a.kind ?? 'KIND_UNSPECIFIED',
      callId: a.callId ?? '',
      message: a.message ?? '',
      language: a.language ?? '',
      waitedMs: parseDuration(a.waited),
    })),
    history: (s.history ?? []).map((h) => ({
      atMs: parseTimestamp(h.at),
      waiting: h.waiting ?? 0,
      serviceLevel: typeof h.serviceLevel === 'number' ? h.serviceLevel : null,
    })),
    storageServing: s.storageServing ?? false,
  };
}

// The queue as the last applied update left it. Not shared: one per page.
export class QueueModel {
  constructor() {
    this.reset();
  }

  reset() {
    this.epoch = '';
    this.sequence = 0;
    // The daemon's time of the last applied update, and performance.now() when it was applied:
    // "now" on the daemon's clock is atMs plus the local time elapsed since (the browser's own
    // clock may be off by minutes).
    this.atMs = null;
    this.appliedPerf = 0;
    this.calls = new Map();
    this.counsellors = new Map();
    this.summary = normaliseSummary(null);
    this.hasView = false;
  }

  // The daemon's clock now, estimated; null before the first update.
  nowMs(perfNow = performance.now()) {
    return this.atMs === null ? null : this.atMs + (perfNow - this.appliedPerf);
  }

  // Applies one QueueUpdate. Throws SequenceGap when a change does not follow the update applied
  // last (another epoch, or a sequence number skipped); an update already applied is ignored.
  // Returns true when something was applied.
  apply(update, perfNow = performance.now()) {
    const epoch = update.epoch ?? '';
    const sequence = parseInt64(update.sequence);
    const atMs = parseTimestamp(update.at) ?? this.nowMs(perfNow) ?? Date.now();
    if (update.view !== undefined) {
      const view = update.view ?? {};
      this.calls = new Map();
      for (const raw of view.calls ?? []) {
        const call = normaliseCall(raw, atMs);
        this.calls.set(call.id, call);
      }
      this.counsellors = new Map();
      for (const raw of view.counsellors ?? []) {
        const c = normaliseCounsellor(raw, atMs);
        this.counsellors.set(c.id, c);
      }
      this.summary = normaliseSummary(view.summary);
      this.hasView = true;
    } else if (update.change !== undefined) {
      if (!this.hasView || epoch !== this.epoch) {
        throw new SequenceGap(`a change of epoch '${epoch}' while holding epoch '${this.epoch}'`);
      }
      if (sequence <= this.sequence) {
        return false;  // Already applied (a resend after a resume).
      }
      if (sequence !== this.sequence + 1) {
        throw new SequenceGap(`update ${sequence} after ${this.sequence}`);
      }
      const change = update.change ?? {};
      for (const raw of change.calls ?? []) {
        const call = normaliseCall(raw, atMs);
        this.calls.set(call.id, call);
      }
      for (const id of change.removedCalls ?? []) {
        this.calls.delete(id);
      }
      for (const raw of change.counsellors ?? []) {
        const c = normaliseCounsellor(raw, atMs);
        this.counsellors.set(c.id, c);
      }
      for (const id of change.removedCounsellors ?? []) {
        this.counsellors.delete(id);
      }
      if (change.summary !== undefined) {
        this.summary = normaliseSummary(change.summary);
      }
    } else {
      // Neither body: a newer kind of update this page does not know. Keep the numbering.
      if (this.hasView && epoch === this.epoch && sequence !== this.sequence + 1) {
        throw new SequenceGap(`update ${sequence} after ${this.sequence}`);
      }
    }
    this.epoch = epoch;
    this.sequence = sequence;
    this.atMs = atMs;
    this.appliedPerf = perfNow;
    return true;
  }

  // Calls in the queue (WAITING), in queue order.
  waitingCalls() {
    return [...this.calls.values()]
      .filter((c) => c.state === 'CALL_STATE_WAITING')
      .sort(queueOrder);
  }

  // Calls ringing on a desk, connecting or connected, in queue order.
  handledCalls() {
    return [...this.calls.values()]
      .filter((c) => c.state !== 'CALL_STATE_WAITING' && c.state !== 'CALL_STATE_ENDED')
      .sort(queueOrder);
  }
}
