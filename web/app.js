// The supervisor's live view: signs in with the supervisor token, follows the daemon's queue
// events and draws the queue, the counsellors, the figures, the alerts and the hour's chart.
// Times tick every second on the daemon's clock (see QueueModel.nowMs), never the browser's.

import { drawChart } from './chart.js';
import {
  callerLanguageName, centreName, enumWord, language, setLanguage, t,
} from './i18n.js';
import { QueueModel } from './model.js';
import { QueueStream } from './stream.js';

const TOKEN_KEY = 'hotline.supervisorToken';
const LANG_KEY = 'hotline.language';
const WALL_KEY = 'hotline.wall';
const CENTRE_ORDER = ['north', 'central', 'south'];
const COUNSELLOR_ORDER = [
  'COUNSELLOR_STATE_RESERVED', 'COUNSELLOR_STATE_ON_CALL', 'COUNSELLOR_STATE_WRAP_UP',
  'COUNSELLOR_STATE_AVAILABLE', 'COUNSELLOR_STATE_BREAK', 'COUNSELLOR_STATE_OFFLINE',
];
const ALERT_ORDER = [
  'EMERGENCY_WAITING', 'STORAGE_NOT_SERVING', 'LONG_WAIT', 'LANGUAGE_UNCOVERED', 'SERVICE_LEVEL_LOW',
];

const $ = (id) => document.getElementById(id);

const model = new QueueModel();
let stream = null;
let connection = { state: 'signed-out' };
let renderQueued = false;
// The daemon's time of the update that carried the current summary: its durations are as of then.
let summaryAtMs = null;
// What the sign-in form says went wrong: {key, reason}, redrawn in the language chosen.
let signInError = null;

// --- Small DOM helpers. ---

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) {
      continue;
    }
    if (k === 'class') {
      node.className = v;
    } else if (k === 'text') {
      node.textContent = v;
    } else {
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// "0:07", "12:34", "1:02:03".
function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  const ss = String(s).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatPercent(value) {
  if (value === null || value === undefined) {
    return t('figNone');
  }
  return new Intl.NumberFormat(language(), { style: 'percent', maximumFractionDigits: 0 })
    .format(value);
}

// A cell whose text is the time elapsed since `fromMs` on the daemon's clock, kept ticking.
function ticking(tag, fromMs, attrs = {}) {
  const node = h(tag, { ...attrs, 'data-from': fromMs });
  node.textContent = formatDuration((model.nowMs() ?? fromMs) - fromMs);
  return node;
}

function tick() {
  const now = model.nowMs();
  if (now === null) {
    return;
  }
  for (const node of document.querySelectorAll('[data-from]')) {
    node.textContent = formatDuration(now - Number(node.dataset.from));
  }
}

function priorityClass(priority) {
  return `priority-${(priority || 'PRIORITY_UNSPECIFIED').replace('PRIORITY_', '').toLowerCase()}`;
}

function callerText(call) {
  if (!call.callerMasked || call.callerMasked === 'withheld') {
    return t('withheld');
  }
  return call.callerMasked;
}

function provinceLabel(code) {
  return code ? t('province', { code }) : t('provinceUnknown');
}

// --- Static texts, language and wall mode. ---

function applyStaticTexts() {
  document.documentElement.lang = language();
  for (const node of document.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n);
  }
  document.title = t('title');
  const toggle = $('lang-toggle');
  toggle.textContent = t('otherLanguage');
  toggle.title = t('otherLanguageTitle');
  toggle.lang = language() === 'vi' ? 'en' : 'vi';
  $('wall-toggle').title = t('wallTitle');
}

function setWall(on) {
  document.body.classList.toggle('wall', on);
  $('wall-toggle').setAttribute('aria-pressed', on ? 'true' : 'false');
  localStorage.setItem(WALL_KEY, on ? '1' : '0');
}

// --- Sign-in. ---

function renderSignInError() {
  const message = $('signin-error');
  if (!signInError) {
    message.hidden = true;
    message.textContent = '';
    return;
  }
  const { key, reason } = signInError;
  message.textContent = reason ? `${t(key)} ${t('serverSaid', { reason })}` : t(key);
  message.hidden = false;
}

function showSignIn(error = null) {
  $('live').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  signInError = error;
  renderSignInError();
  $('signin-submit').disabled = false;
  $('token').value = '';
  $('token').focus();
  setConnection({ state: 'signed-out' });
}

function signOut(error = null) {
  stream?.stop();
  stream = null;
  sessionStorage.removeItem(TOKEN_KEY);
  model.reset();
  summaryAtMs = null;
  showSignIn(error);
}

function startLive(token) {
  stream?.stop();
  model.reset();
  summaryAtMs = null;
  drawnAlerts = null;
  $('signin-submit').disabled = true;
  stream = new QueueStream(token, {
    resumeFrom: () => (model.hasView ? { epoch: model.epoch, sequence: model.sequence } : null),
    onUpdate: (update) => {
      if (model.apply(update)) {
        if (update.view !== undefined || update.change?.summary !== undefined) {
          summaryAtMs = model.atMs;
        }
        showLive();
        scheduleRender();
      }
    },
    onStatus: (status) => {
      // Until the daemon answers once, a sign-in stays on the form; a daemon that is down shows
      // the live view reconnecting (the token cannot be checked yet).
      if (status.state !== 'connecting') {
        showLive();
      }
      setConnection(status);
    },
    onUnauthorized: (reason) => signOut({ key: 'wrongToken', reason }),
  });
  stream.start();
}

function showLive() {
  if (!$('live').hidden) {
    return;
  }
  $('signin').hidden = true;
  $('live').hidden = false;
  $('sign-out').hidden = false;
  scheduleRender();
}

function setConnection(status) {
  connection = status;
  const node = $('connection');
  node.dataset.state = status.state;
  const seconds = new Intl.NumberFormat(language(), { maximumFractionDigits: 1 })
    .format((status.retryMs ?? 0) / 1000);
  const texts = {
    'signed-out': t('connSignedOut'),
    connecting: t('connConnecting'),
    live: t('connLive'),
    reconnecting: t('connReconnecting', { seconds }),
    busy: t('connBusy', { seconds, reason: status.reason || '503' }),
  };
  node.textContent = texts[status.state] ?? status.state;
  const stale = model.hasView && status.state !== 'live';
  $('stale').hidden = !stale;
  $('live').classList.toggle('is-stale', stale);
}

// --- Rendering. ---

function scheduleRender() {
  if (renderQueued) {
    return;
  }
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    render();
  }, 0);
}

function render() {
  if ($('live').hidden) {
    return;
  }
  document.body.dataset.epoch = model.epoch;
  document.body.dataset.sequence = String(model.sequence);
  renderAlerts();
  renderWaiting();
  renderHandled();
  renderCounsellors();
  renderFigures();
  renderChart();
  setConnection(connection);
}

function alertKind(kind) {
  return (kind || '').replace(/^KIND_/, '');
}

// An alert's words, with its wait ticking: from the call's arrival when the page holds the call,
// else from the wait the summary gave.
function alertContent(alert) {
  const call = alert.callId;
  const MARK = '\u0000';
  const withWait = (key) => {
    const [before, after] = t(key, { call, wait: MARK }).split(MARK);
    const held = model.calls.get(call);
    const from = held ? held.arrivedMs : (summaryAtMs ?? model.nowMs() ?? 0) - alert.waitedMs;
    return [before, ticking('span', from, { class: 'alert-wait' }), after ?? ''];
  };
  switch (alertKind(alert.kind)) {
    case 'EMERGENCY_WAITING':
      return withWait('alertEmergencyWaiting');
    case 'LONG_WAIT':
      return withWait('alertLongWait');
    case 'SERVICE_LEVEL_LOW':
      return [t('alertServiceLevelLow')];
    case 'LANGUAGE_UNCOVERED':
      return [t(call ? 'alertLanguageUncovered' : 'alertLanguageUncoveredNoCall',
        { call, language: callerLanguageName(alert.language, { inSentence: true }) })];
    case 'STORAGE_NOT_SERVING':
      return [t('alertStorageNotServing')];
    default:
      return [alert.message || t('alertOther')];
  }
}

// The alerts drawn last, as "kind call language" keys: the list is rebuilt (and announced to a
// screen reader) only when an alert comes or goes, not at every summary.
let drawnAlerts = null;

function renderAlerts() {
  const rank = (a) => {
    const i = ALERT_ORDER.indexOf(alertKind(a.kind));
    return i < 0 ? ALERT_ORDER.length : i;
  };
  const alerts = [...model.summary.alerts].sort((a, b) => rank(a) - rank(b));
  const keys = `${language()}|${alerts.map((a) => `${a.kind} ${a.callId} ${a.language}`).join('|')}`;
  if (keys === drawnAlerts) {
    return;
  }
  drawnAlerts = keys;
  const list = $('alert-list');
  list.replaceChildren(...alerts.map((a) => {
    const kind = alertKind(a.kind);
    return h('li', {
      class: `alert alert-${kind.toLowerCase().replaceAll('_', '-')}`,
      'data-testid': 'alert',
      'data-kind': kind,
      'data-call-id': a.callId || null,
      title: a.message || null,
    }, ...alertContent(a));
  }));
  if (alerts.length === 0) {
    list.append(h('li', { class: 'alert-none', text: t('noAlerts') }));
  }
  $('alerts').classList.toggle('has-alerts', alerts.length > 0);
}

function callCells(call) {
  return [
    h('td', { class: 'priority' }, h('span', { class: 'badge', text: enumWord(call.priority) })),
    h('td', { class: 'topic', text: enumWord(call.topic) }),
    h('td', { class: 'language', text: callerLanguageName(call.language) }),
    h('td', { class: 'step', text: t('step', { n: call.ladderStep + 1 }) }),
    h('td', { class: 'caller' }, h('span', { text: callerText(call) }),
      call.repeatCaller ? h('span', { class: 'tag', text: t('repeatCaller') }) : null),
    h('td', { class: 'call-id', text: call.id }),
  ];
}

function waitingRow(call) {
  const emergency = call.priority === 'PRIORITY_EMERGENCY';
  return h('tr', {
    class: `call-row ${priorityClass(call.priority)}${emergency ? ' emergency' : ''}`,
    'data-testid': 'waiting-call',
    'data-call-id': call.id,
    'data-priority': call.priority,
    'data-province': call.province,
  }, ticking('td', call.arrivedMs, { class: 'wait' }), ...callCells(call));
}

// Column headings; each heading has its column's class, as its cells do (wall mode hides some).
const COLUMN_CLASS = {
  colWait: 'wait', colPriority: 'priority', colTopic: 'topic', colLanguage: 'language',
  colStep: 'step', colCaller: 'caller', colCall: 'call-id', colState: 'state',
  colCounsellor: 'counsellor', colProvince: 'province', colSinceArrival: 'wait',
};

function headRow(keys) {
  return h('thead', {}, h('tr', {},
    ...keys.map((k) => h('th', { scope: 'col', class: COLUMN_CLASS[k] ?? null, text: t(k) }))));
}

function waitingHead() {
  return headRow(['colWait', 'colPriority', 'colTopic', 'colLanguage', 'colStep', 'colCaller', 'colCall']);
}

// Province groups of the waiting calls: counts from the summary (every waiting call, listed or
// not), the listed calls placed by their province.
function waitingGroups(listedWaiting) {
  const centres = new Map();
  const provinceCentre = new Map();
  const group = (centre, province) => {
    if (!centres.has(centre)) {
      centres.set(centre, new Map());
    }
    const provinces = centres.get(centre);
    if (!provinces.has(province)) {
      provinces.set(province, {
        count: 0, emergency: 0, longestWaitMs: 0, calls: [], listed: 0, listedEmergency: 0,
      });
    }
    return provinces.get(province);
  };
  for (const g of model.summary.waiting) {
    const entry = group(g.centre, g.province);
    entry.count += g.count;
    if (g.priority === 'PRIORITY_EMERGENCY') {
      entry.emergency += g.count;
    }
    entry.longestWaitMs = Math.max(entry.longestWaitMs, g.longestWaitMs);
    provinceCentre.set(g.province, g.centre);
  }
  // Every listed call counts against its group's "not listed" remainder; emergencies are drawn
  // on top, the others in their group.
  const ringing = [...model.calls.values()].filter((c) => c.state === 'CALL_STATE_OFFERED');
  for (const call of [...listedWaiting, ...ringing]) {
    const entry = group(provinceCentre.get(call.province) ?? '', call.province);
    entry.listed += 1;
    if (call.priority === 'PRIORITY_EMERGENCY') {
      entry.listedEmergency += 1;
    }
    if (call.state === 'CALL_STATE_WAITING' && call.priority !== 'PRIORITY_EMERGENCY') {
      entry.calls.push(call);
    }
  }
  const centreRank = (c) => {
    const i = CENTRE_ORDER.indexOf(c);
    return i >= 0 ? i : c === '' ? CENTRE_ORDER.length + 1 : CENTRE_ORDER.length;
  };
  // The summary is rebuilt at most once a second: a call listed before it is counted still counts.
  for (const provinces of centres.values()) {
    for (const entry of provinces.values()) {
      entry.count = Math.max(entry.count, entry.listed);
      entry.emergency = Math.max(entry.emergency, entry.listedEmergency);
    }
  }
  return [...centres.entries()]
    .sort(([a], [b]) => centreRank(a) - centreRank(b) || a.localeCompare(b))
    .map(([centre, provinces]) => ({
      centre,
      provinces: [...provinces.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([province, entry]) => ({ province, ...entry })),
    }));
}

function renderWaiting() {
  const s = model.summary;
  const waiting = model.waitingCalls();
  // Waiting and ringing calls, as the summary counts them; it is rebuilt at most once a second,
  // so never fewer than the page lists.
  const listed = [...model.calls.values()].filter(
    (c) => c.state === 'CALL_STATE_WAITING' || c.state === 'CALL_STATE_OFFERED').length;
  const note = $('waiting-summary');
  note.replaceChildren(h('span', { class: 'total', 'data-testid': 'waiting-total',
    text: t('waitingTotal', { count: Math.max(s.waitingTotal, listed) }) }));
  if (s.longestWaitMs > 0 && summaryAtMs !== null) {
    const from = summaryAtMs - s.longestWaitMs;
    note.append(' · ', h('span', { text: t('longestWait', { wait: '' }) }),
      ticking('span', from, { class: 'longest' }));
  }
  note.append(' · ', h('span', { text: t('available', { count: s.availableCounsellors }) }));

  const box = $('waiting');
  const parts = [];
  const bodies = [];
  const emergencies = waiting.filter((c) => c.priority === 'PRIORITY_EMERGENCY');
  if (emergencies.length > 0) {
    bodies.push(h('tbody', { class: 'emergencies', 'data-testid': 'emergency-calls' },
      h('tr', { class: 'emergency-head' },
        h('th', { colspan: 7, scope: 'rowgroup', text: t('emergencyHeading') })),
      ...emergencies.map(waitingRow)));
  }
  const groups = waitingGroups(waiting);
  if (groups.length > 0) {
    const body = h('tbody', { class: 'groups' });
    for (const { centre, provinces } of groups) {
      const total = provinces.reduce((n, p) => n + p.count, 0);
      body.append(h('tr', { class: 'centre-row', 'data-testid': 'centre-group', 'data-centre': centre },
        h('th', { colspan: 7, scope: 'rowgroup' },
          h('span', { text: centreName(centre) }),
          h('span', { class: 'count', text: t('groupCount', { count: total }) }))));
      for (const p of provinces) {
        const label = [t('groupCount', { count: p.count })];
        if (p.emergency > 0) {
          label.push(`${p.emergency} ${enumWord('PRIORITY_EMERGENCY').toLowerCase()}`);
        }
        const head = h('th', { colspan: 7, scope: 'rowgroup' },
          h('span', { text: provinceLabel(p.province) }),
          h('span', { class: 'count', text: label.join(' · ') }));
        if (p.longestWaitMs > 0 && summaryAtMs !== null) {
          head.append(h('span', { class: 'count', text: t('longestWait', { wait: '' }) }),
            ticking('span', summaryAtMs - p.longestWaitMs, { class: 'longest' }));
        }
        body.append(h('tr', {
          class: `province-row${p.emergency > 0 ? ' has-emergency' : ''}`,
          'data-testid': 'province-group', 'data-province': p.province, 'data-count': p.count,
        }, head));
        body.append(...p.calls.map(waitingRow));
        const unlisted = p.count - p.listed;
        if (unlisted > 0) {
          body.append(h('tr', { class: 'unlisted-row' },
            h('td', { colspan: 7, text: t('groupNotListed', { count: unlisted }) })));
        }
      }
    }
    bodies.push(body);
  }
  if (bodies.length > 0) {
    parts.push(h('table', { class: 'calls waiting-calls' }, waitingHead(), ...bodies));
  }
  if (s.waitingNotListed > 0) {
    parts.push(h('p', { class: 'note', 'data-testid': 'not-listed',
      text: t('notListed', { count: s.waitingNotListed }) }));
  }
  if (parts.length === 0) {
    parts.push(h('p', { class: 'empty', text: t('noWaiting') }));
  }
  box.replaceChildren(...parts);
}

function counsellorName(id) {
  const c = model.counsellors.get(id);
  return c?.name || id;
}

function renderHandled() {
  const calls = model.handledCalls();
  const box = $('handled');
  if (calls.length === 0) {
    box.replaceChildren(h('p', { class: 'empty', text: t('noHandled') }));
    return;
  }
  const head = headRow(['colCall', 'colState', 'colCounsellor', 'colPriority', 'colTopic',
    'colLanguage', 'colProvince', 'colSinceArrival', 'colCaller']);
  const rows = calls.map((call) => h('tr', {
    class: `call-row handled ${priorityClass(call.priority)}${call.priority === 'PRIORITY_EMERGENCY' ? ' emergency' : ''}`,
    'data-testid': 'handled-call',
    'data-call-id': call.id,
    'data-state': call.state,
  },
  h('td', { class: 'call-id', text: call.id }),
  h('td', { class: 'state', text: enumWord(call.state) }),
  h('td', { class: 'counsellor', text: call.counsellorId ? counsellorName(call.counsellorId) : '' }),
  h('td', { class: 'priority' }, h('span', { class: 'badge', text: enumWord(call.priority) })),
  h('td', { class: 'topic', text: enumWord(call.topic) }),
  h('td', { class: 'language', text: callerLanguageName(call.language) }),
  h('td', { class: 'province', text: call.province || t('provinceUnknown') }),
  ticking('td', call.arrivedMs, { class: 'wait' }),
  h('td', { class: 'caller', text: callerText(call) })));
  box.replaceChildren(h('table', { class: 'calls handled-calls' }, head, h('tbody', {}, ...rows)));
}

function renderCounsellors() {
  const all = [...model.counsellors.values()];
  const rank = (c) => {
    const i = COUNSELLOR_ORDER.indexOf(c.state);
    return i < 0 ? COUNSELLOR_ORDER.length : i;
  };
  all.sort((a, b) => rank(a) - rank(b) || (a.name || a.id).localeCompare(b.name || b.id));
  const signedIn = all.filter((c) => c.state !== 'COUNSELLOR_STATE_OFFLINE').length;
  $('counsellors-summary').textContent =
    `${t('available', { count: model.summary.availableCounsellors })} · ${signedIn}/${all.length}`;
  const box = $('counsellors');
  if (all.length === 0) {
    box.replaceChildren(h('p', { class: 'empty', text: t('noCounsellors') }));
    return;
  }
  const head = h('thead', {}, h('tr', {},
    ...['colCounsellor', 'colState', 'colTimeInState', 'colCurrentCall', 'colDesk']
      .map((k) => h('th', { scope: 'col', text: t(k) }))));
  // Every known counsellor is in the view: the signed-out ones are folded away below the board.
  const offline = all.filter((c) => c.state === 'COUNSELLOR_STATE_OFFLINE');
  const row = (c) => {
    const state = c.state.replace('COUNSELLOR_STATE_', '').toLowerCase().replaceAll('_', '-');
    return h('tr', {
      class: `counsellor state-${state}`,
      'data-testid': 'counsellor',
      'data-counsellor-id': c.id,
      'data-state': c.state,
    },
    h('td', { class: 'name', title: c.id, text: c.name || c.id }),
    h('td', { class: 'state' }, h('span', { class: 'badge', text: enumWord(c.state) }),
      c.state === 'COUNSELLOR_STATE_BREAK' && c.breakReason !== 'BREAK_REASON_UNSPECIFIED'
        ? h('span', { class: 'break-reason', text: enumWord(c.breakReason) }) : null),
    ticking('td', c.sinceMs, { class: 'time' }),
    h('td', { class: 'call-id', text: c.callId }),
    h('td', { class: `desk ${c.deskConnected ? 'up' : 'down'}`,
      text: c.deskConnected ? t('deskConnected') : t('deskDisconnected') }));
  };
  const parts = [h('table', { class: 'board' }, head,
    h('tbody', {}, ...all.filter((c) => c.state !== 'COUNSELLOR_STATE_OFFLINE').map(row)))];
  if (offline.length > 0) {
    const details = h('details', { class: 'offline', 'data-testid': 'offline-counsellors' },
      h('summary', { text: t('offlineCounsellors', { count: offline.length }) }),
      h('table', { class: 'board' }, h('tbody', {}, ...offline.map(row))));
    // Stay open across redraws once the supervisor opened it.
    details.open = $('counsellors').querySelector('details.offline')?.open ?? false;
    parts.push(details);
  }
  box.replaceChildren(...parts);
}

function figureRows() {
  const share = (n, f) => (f.answered > 0 ? `${n}/${f.answered} (${formatPercent(n / f.answered)})` : t('figNone'));
  return [
    ['service', 'figService', 'figServiceDef', (f) => formatPercent(f.serviceLevel)],
    ['abandonment', 'figAbandon', 'figAbandonDef', (f) => formatPercent(f.abandonmentRate)],
    ['short-abandons', 'figShortAbandon', 'figShortAbandonDef', (f) => String(f.shortAbandoned)],
    ['asa', 'figAsa', 'figAsaDef',
      (f) => (f.answered > 0 ? formatDuration(f.averageSpeedOfAnswerMs ?? 0) : t('figNone'))],
    ['aht', 'figAht', 'figAhtDef',
      (f) => (f.handled > 0 ? formatDuration(f.averageHandlingTimeMs ?? 0) : t('figNone'))],
    ['occupancy', 'figOccupancy', 'figOccupancyDef', (f) => formatPercent(f.occupancy)],
    ['own-province', 'figOwnProvince', 'figOwnProvinceDef', (f) => share(f.answeredInOwnProvince, f)],
    ['own-centre', 'figOwnCentre', 'figOwnCentreDef', (f) => share(f.answeredInOwnCentre, f)],
    ['offered', 'figOffered', 'figOfferedDef', (f) => `${f.offered} / ${f.answered}`],
  ];
}

function renderFigures() {
  const { last15, today } = model.summary;
  const head = h('thead', {}, h('tr', {}, h('td'),
    h('th', { scope: 'col', text: t('last15') }), h('th', { scope: 'col', text: t('today') })));
  const rows = figureRows().map(([id, label, definition, value]) => {
    const low = id === 'service' && last15.serviceLevel !== null && last15.serviceLevel < 0.8;
    return h('tr', { 'data-testid': `figure-${id}`, class: low ? 'below-target' : null },
      h('th', { scope: 'row', title: t(definition), class: 'defined', text: t(label) }),
      h('td', { class: 'last15', text: value(last15) }),
      h('td', { class: 'today', text: value(today) }));
  });
  $('figures').replaceChildren(h('table', { class: 'figures' }, head, h('tbody', {}, ...rows)));
}

function renderChart() {
  drawChart($('chart'), model.summary.history, summaryAtMs ?? model.nowMs(), {
    waiting: t('chartWaiting'),
    serviceLevel: t('chartServiceLevel'),
    target: t('chartTarget'),
    empty: t('chartEmpty'),
  });
}

// --- Start. ---

function init() {
  setLanguage(localStorage.getItem(LANG_KEY) ?? 'vi');
  applyStaticTexts();
  const params = new URLSearchParams(location.search);
  setWall(params.has('wall') ? params.get('wall') !== '0' : localStorage.getItem(WALL_KEY) === '1');

  $('lang-toggle').addEventListener('click', () => {
    setLanguage(language() === 'vi' ? 'en' : 'vi');
    localStorage.setItem(LANG_KEY, language());
    applyStaticTexts();
    renderSignInError();
    setConnection(connection);
    render();
  });
  $('wall-toggle').addEventListener('click', () => {
    setWall(!document.body.classList.contains('wall'));
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) {
      signInError = { key: 'emptyToken' };
      renderSignInError();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    startLive(token);
  });
  setInterval(tick, 1000);

  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    startLive(token);
  } else {
    showSignIn();
  }
}

init();
