// The live view's logic without a browser: how QueueUpdates (protobuf JSON, defaults omitted)
// apply, when a sequence gap forces a fresh view, and the text/event-stream parser.
//
//   node tests/web/model_test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { QueueModel, SequenceGap, parseDuration, parseTimestamp } from '../../web/model.js';
import { EventStreamParser } from '../../web/stream.js';

const AT = '2026-11-30T10:00:00Z';
const AT_MS = Date.parse(AT);

function call(id, fields = {}) {
  const { priority, admission, state = 'CALL_STATE_WAITING', arrivedAt, ...rest } = fields;
  return {
    summary: { callId: id, province: '38', priority, arrivedAt },
    state,
    admission,
    ...rest,
  };
}

function view(sequence, body = {}, epoch = 'e1') {
  return { epoch, sequence: String(sequence), at: AT, view: body };
}

function change(sequence, body = {}, epoch = 'e1') {
  return { epoch, sequence: String(sequence), at: AT, change: body };
}

test('timestamps keep nanosecond fractions to the millisecond, durations read as ms', () => {
  assert.equal(parseTimestamp('2026-11-30T10:00:00.123456789Z'), AT_MS + 123.456789);
  assert.equal(parseTimestamp('2026-11-30T17:00:00+07:00'), AT_MS);
  assert.equal(parseTimestamp(undefined), null);
  assert.equal(parseTimestamp('yesterday'), null);
  assert.equal(parseDuration('12.500s'), 12500);
  assert.equal(parseDuration('-1.5s'), -1500);
  assert.equal(parseDuration(undefined), 0);
});

test('a view replaces everything and every omitted field reads as its default', () => {
  const m = new QueueModel();
  m.apply(view(1, { calls: [call('a'), call('b')] }), 0);
  m.apply(view(7, { calls: [call('c', { arrivedAt: '2026-11-30T09:59:50Z' })], counsellors: [{ counsellorId: 'lan' }] }), 0);
  assert.deepEqual([...m.calls.keys()], ['c']);
  const c = m.calls.get('c');
  assert.equal(c.ladderStep, 0);
  assert.equal(c.position, 0);
  assert.equal(c.admission, 0);
  assert.equal(c.priority, 'PRIORITY_UNSPECIFIED');
  assert.equal(c.callerMasked, '');
  assert.equal(c.arrivedMs, AT_MS - 10_000);
  const lan = m.counsellors.get('lan');
  assert.equal(lan.deskConnected, false);
  assert.equal(lan.callId, '');
  assert.equal(lan.state, 'COUNSELLOR_STATE_UNSPECIFIED');
  assert.equal(m.summary.waitingTotal, 0);
  assert.equal(m.summary.storageServing, false);
  assert.equal(m.summary.last15.serviceLevel, null, 'an absent optional is no figure, not 0');
  assert.deepEqual(m.summary.alerts, []);
  assert.equal(m.sequence, 7);
});

test('a view with nothing in it (all defaults) empties the page', () => {
  const m = new QueueModel();
  m.apply(view(1, { calls: [call('a')] }), 0);
  m.apply({ epoch: 'e1', sequence: '2', at: AT, view: {} }, 0);
  assert.equal(m.calls.size, 0);
  assert.equal(m.hasView, true);
});

test('a change applies calls, removals and counsellors, and keeps the summary unless sent', () => {
  const m = new QueueModel();
  m.apply(view(1, {
    calls: [call('a'), call('b')],
    counsellors: [{ counsellorId: 'lan' }, { counsellorId: 'minh' }],
    summary: { waitingTotal: 2 },
  }), 0);
  m.apply(change(2, {
    calls: [call('c'), call('a', { state: 'CALL_STATE_OFFERED', counsellorId: 'lan' })],
    removedCalls: ['b'],
    counsellors: [{ counsellorId: 'lan', state: 'COUNSELLOR_STATE_RESERVED', callId: 'a' }],
    removedCounsellors: ['minh'],
  }), 0);
  assert.deepEqual([...m.calls.keys()].sort(), ['a', 'c']);
  assert.equal(m.calls.get('a').state, 'CALL_STATE_OFFERED');
  assert.deepEqual([...m.counsellors.keys()], ['lan']);
  assert.equal(m.counsellors.get('lan').callId, 'a');
  assert.equal(m.summary.waitingTotal, 2, 'no summary in the change: the old one stays');
  m.apply(change(3, { summary: {} }), 0);
  assert.equal(m.summary.waitingTotal, 0, 'an empty summary is all defaults');
});

test('a skipped sequence, another epoch or a change before any view is a gap', () => {
  const m = new QueueModel();
  assert.throws(() => m.apply(change(1), 0), SequenceGap);
  m.apply(view(5), 0);
  assert.throws(() => m.apply(change(7), 0), SequenceGap);
  assert.throws(() => m.apply(change(6, {}, 'e2'), 0), SequenceGap);
  assert.equal(m.apply(change(5), 0), false, 'one already applied is ignored');
  assert.equal(m.apply(change(6), 0), true);
  assert.equal(m.sequence, 6);
  // A view starts afresh whatever its number or epoch.
  m.apply(view(1, {}, 'e2'), 0);
  assert.equal(m.epoch, 'e2');
  assert.equal(m.apply(change(2, {}, 'e2'), 0), true);
});

test('waiting calls are in queue order: priority, then admission as a number', () => {
  const m = new QueueModel();
  m.apply(view(1, {
    calls: [
      call('normal-10', { priority: 'PRIORITY_NORMAL', admission: '10' }),
      call('normal-9', { priority: 'PRIORITY_NORMAL', admission: '9' }),
      call('low', { priority: 'PRIORITY_LOW', admission: '1' }),
      call('emergency', { priority: 'PRIORITY_EMERGENCY', admission: '11' }),
      call('ringing', { priority: 'PRIORITY_HIGH', admission: '2', state: 'CALL_STATE_OFFERED' }),
    ],
  }), 0);
  assert.deepEqual(m.waitingCalls().map((c) => c.id), ['emergency', 'normal-9', 'normal-10', 'low']);
  assert.deepEqual(m.handledCalls().map((c) => c.id), ['ringing']);
});

test("time runs on the daemon's clock: the update's time plus the time elapsed here", () => {
  const m = new QueueModel();
  assert.equal(m.nowMs(0), null);
  m.apply(view(1), 1000);
  assert.equal(m.nowMs(1000), AT_MS);
  assert.equal(m.nowMs(4500), AT_MS + 3500);
});

test('the event-stream parser joins chunks, CRLF split across them, and skips comments', () => {
  const events = [];
  const p = new EventStreamParser((e) => events.push(e));
  p.push(': keepalive\r\n\r\nid: e1:1\r');
  p.push('\nevent: update\r\ndata: {"a"');
  p.push(':1}\r\n\r');
  p.push('\n');
  p.push('event: update\ndata: x\ndata: y\n\n');
  p.push('event: nothing\n\n');
  p.push('data:no-space\n\n');
  assert.deepEqual(events, [
    { id: 'e1:1', event: 'update', data: '{"a":1}' },
    { id: 'e1:1', event: 'update', data: 'x\ny' },
    { id: 'e1:1', event: 'message', data: 'no-space' },
  ]);
});
