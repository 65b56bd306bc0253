// The daemon's queue events (GET /api/queue/events, text/event-stream) read with fetch() and a
// stream parser: EventSource cannot send the Authorization header.
//
// One QueueStream per signed-in page. It reconnects by itself when the stream drops or the daemon
// restarts, waiting 0.5 s, then twice as long each time up to 5 s, and resumes from the last
// update the page applied (`?epoch=E&after=N`); the daemon answers a resume it cannot serve (a
// new epoch after a restart, or updates it no longer has) with a full view.

const ENDPOINT = '/api/queue/events';
const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 5000;
// The daemon sends a keepalive comment every 15 s: this long without a byte means the
// connection is dead even if TCP has not said so.
const SILENCE_MS = 45000;

// Parses text/event-stream (the WHATWG HTML "server-sent events" rules): lines end in CRLF, LF
// or CR; an empty line dispatches the event; lines starting with ':' are comments.
export class EventStreamParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.id = null;
    this.lastCr = false;
  }

  push(text) {
    let chunk = text;
    // A CR at the end of the previous chunk and an LF at the start of this one are one line end.
    if (this.lastCr && chunk.startsWith('\n')) {
      chunk = chunk.slice(1);
    }
    this.lastCr = chunk.endsWith('\r');
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    for (const line of lines) {
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) {
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'data') {
      this.data.push(value);
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
    }
  }
}

// Why a stream stopped for good: the daemon refused the token.
export class Unauthorized extends Error {}

export class QueueStream {
  // handlers: onUpdate(update) (throws to have the stream reopened for a full view),
  // onStatus({state: 'connecting'|'live'|'reconnecting'|'busy', retryMs, reason}),
  // onUnauthorized(reason), resumeFrom() -> {epoch, sequence} | null.
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.stopped = false;
    this.controller = null;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
    this.resume = true;
    // Tries since the last update delivered: the first is "connecting", later ones stay
    // "reconnecting" until an update arrives.
    this.attempts = 0;
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
  }

  async connect() {
    if (this.stopped) {
      return;
    }
    if (this.attempts === 0) {
      this.handlers.onStatus({ state: 'connecting' });
    }
    this.attempts += 1;
    const controller = new AbortController();
    this.controller = controller;
    let silence = null;
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    let url = ENDPOINT;
    const from = this.resume ? this.handlers.resumeFrom() : null;
    this.resume = true;
    if (from && from.epoch) {
      url += `?epoch=${encodeURIComponent(from.epoch)}&after=${encodeURIComponent(from.sequence)}`;
    }
    // A 503 (too many views open, or the daemon shutting down) and what it said.
    let busy = null;
    try {
      watch();
      const response = await fetch(url, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status === 401 || response.status === 403) {
        const reason = (await response.text()).trim();
        this.stopped = true;
        clearTimeout(silence);
        this.handlers.onUnauthorized(reason);
        return;
      }
      if (!response.ok || !response.body) {
        if (response.status === 503) {
          busy = (await response.text().catch(() => '')).trim().slice(0, 200);
        }
        throw new Error(`HTTP ${response.status}`);
      }
      const parser = new EventStreamParser((event) => {
        if (event.event !== 'update') {
          return;
        }
        // Only a stream that delivered an update counts as recovered.
        this.retryMs = FIRST_RETRY_MS;
        this.attempts = 0;
        try {
          this.handlers.onUpdate(JSON.parse(event.data));
        } catch (err) {
          // A gap in the numbering or an unreadable update: start again from a full view.
          this.resume = false;
          throw err;
        }
        this.handlers.onStatus({ state: 'live' });
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        watch();
        parser.push(value);
      }
    } catch (err) {
      if (this.stopped) {
        return;
      }
      console.info('queue events: %s', err?.message ?? err);
    } finally {
      clearTimeout(silence);
    }
    if (this.stopped) {
      return;
    }
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
    this.handlers.onStatus(busy === null
      ? { state: 'reconnecting', retryMs: wait }
      : { state: 'busy', retryMs: wait, reason: busy });
    this.timer = setTimeout(() => this.connect(), wait);
  }
}
