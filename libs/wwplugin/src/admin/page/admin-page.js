// The WWPlugin plugins page: renders the snapshots the SSE endpoint sends; no framework, no build step.
// Every text from a plugin goes through textContent: plugin names and log messages are not trusted HTML.
const $ = (selector) => document.querySelector(selector);
const ACTIONS = ['restart', 'stop', 'start'];
const MAX_EVENTS = 50;
let selected = null;
let shownLogSeq = 0;

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

const ms = (v) => (v === null ? '–' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
function duration(v) {
  if (v === null) return '–';
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
const lastExit = (e) => (e === null ? '–' : e.signal ? e.signal : `code ${e.code}`);

function renderRow(p) {
  const tr = document.createElement('tr');
  tr.dataset.plugin = p.name;
  tr.dataset.state = p.state;
  tr.dataset.pid = p.pid ?? '';
  tr.setAttribute('aria-selected', String(p.name === selected));
  const name = cell(tr, '', 'name');
  const strong = document.createElement('strong');
  strong.textContent = p.name;
  const small = document.createElement('small');
  // Several instances of one name get one row each: the index tells them apart.
  const label = p.version ? `v${p.version}` : p.id;
  small.textContent = p.instances > 1 ? `${label} · #${p.instance + 1}/${p.instances}` : label;
  name.append(strong, small);
  const state = cell(tr, '', 'state');
  const badge = document.createElement('span');
  badge.className = `badge ${p.state}`;
  badge.textContent = p.state;
  state.append(badge);
  cell(tr, p.pid ?? p.where ?? '–', 'pid');
  cell(tr, duration(p.uptimeMs), 'uptime');
  cell(tr, p.restarts, 'restarts');
  cell(tr, lastExit(p.lastExit), 'last-exit');
  cell(tr, p.callsPerSec.toFixed(1), 'calls');
  cell(tr, `${(p.errorRate * 100).toFixed(1)}%`, p.errorRate > 0 ? 'errors bad' : 'errors');
  cell(tr, ms(p.p50Ms), 'p50');
  cell(tr, ms(p.p99Ms), 'p99');
  cell(tr, p.inFlight, 'in-flight');
  cell(tr, ms(p.heartbeatRttMs), 'heartbeat');
  cell(tr, p.pushesDropped, p.pushesDropped > 0 ? 'dropped bad' : 'dropped');
  const actions = cell(tr, '', 'actions');
  for (const action of ACTIONS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.action = action;
    button.textContent = action;
    button.disabled = (action === 'start' && p.state === 'running') || (action === 'stop' && p.state === 'stopped');
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      act(p.name, action, button);
    });
    actions.append(button);
  }
  tr.addEventListener('click', () => select(p.name));
  return tr;
}

function render(snapshot) {
  $('#plugins tbody').replaceChildren(...snapshot.plugins.map(renderRow));
  $('#empty').hidden = snapshot.plugins.length > 0;
  $('#updated').textContent = `updated ${new Date(snapshot.at).toLocaleTimeString()}`;
  const current = snapshot.plugins.find((p) => p.name === selected);
  if (current && current.logSeq !== shownLogSeq) loadLogs();
}

async function act(plugin, action, button) {
  button.disabled = true;
  try {
    const res = await fetch(`api/plugins/${encodeURIComponent(plugin)}/${action}`, { method: 'POST', headers: { 'x-wwplugin-admin': '1' } });
    if (!res.ok) throw new Error(((await res.json().catch(() => null)) ?? {}).message ?? `${res.status} ${res.statusText}`);
    showError(null);
    render(await res.json());
  } catch (err) {
    showError(`${action} ${plugin}: ${err.message}`);
  }
}

function showError(message) {
  $('#error').hidden = !message;
  $('#error').textContent = message ?? '';
}

function select(plugin) {
  selected = plugin;
  shownLogSeq = 0;
  $('#log-records').replaceChildren();
  $('#logs-plugin').textContent = plugin;
  $('#logs').hidden = false;
  for (const tr of document.querySelectorAll('#plugins tbody tr')) tr.setAttribute('aria-selected', String(tr.dataset.plugin === plugin));
  loadLogs();
}

let loading = false;
async function loadLogs() {
  if (loading || !selected) return;
  loading = true;
  const plugin = selected;
  try {
    const res = await fetch(`api/plugins/${encodeURIComponent(plugin)}/logs?after=${shownLogSeq}`);
    if (!res.ok || plugin !== selected) return;
    const list = $('#log-records');
    for (const r of await res.json()) {
      const li = document.createElement('li');
      li.className = r.level;
      const time = document.createElement('time');
      time.textContent = new Date(r.at).toLocaleTimeString();
      const level = document.createElement('span');
      level.className = 'level';
      level.textContent = r.level;
      li.append(time, level, `${r.context ? `[${r.context}] ` : ''}${r.message}`);
      if (r.stack) {
        const details = document.createElement('details');
        const summary = document.createElement('summary');
        summary.textContent = 'stack';
        details.append(summary, r.stack);
        li.append(details);
      }
      list.append(li);
      shownLogSeq = r.seq;
    }
    list.scrollTop = list.scrollHeight;
  } finally {
    loading = false;
  }
}

function addEvent(e) {
  const list = $('#event-list');
  const li = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  const { type, plugin, id: _id, ...rest } = e;
  const details = Object.entries(rest).map(([k, v]) => `${k}=${v}`);
  li.append(time, `${plugin} ${type}${details.length ? ` (${details.join(', ')})` : ''}`);
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

function connect() {
  const source = new EventSource('api/events');
  source.addEventListener('open', () => {
    $('#connection').dataset.connected = 'true';
    $('#connection').textContent = 'live';
  });
  source.addEventListener('error', () => {
    $('#connection').dataset.connected = 'false';
    $('#connection').textContent = 'reconnecting…';
  });
  source.addEventListener('snapshot', (m) => render(JSON.parse(m.data)));
  source.addEventListener('plugin-event', (m) => addEvent(JSON.parse(m.data)));
}

connect();
