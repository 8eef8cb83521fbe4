// Simpul dashboard: a client of the node's /v1 API, in Bahasa Indonesia (docs/dashboard.md).
// No framework and nothing fetched from elsewhere: the node serves this file from its binary.
// Every answer is what the API gives the logged-in token; the page only shows it. Text from the
// API is always set as text (textContent), never as HTML.
'use strict';

(() => {
  const S = { session: null, timer: null, agencies: null };
  const main = () => document.getElementById('isi');

  // ---- DOM ----------------------------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  function show(...nodes) {
    main().replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  }
  function field(label, input) {
    const id = input.id || 'f-' + Math.random().toString(36).slice(2, 9);
    input.id = id;
    return h('div', {}, h('label', { for: id, text: label }), input);
  }
  function select(name, options, value) {
    const s = h('select', { name });
    for (const [v, label] of options) {
      const o = h('option', { value: v, text: label });
      if (String(v) === String(value ?? '')) o.selected = true;
      s.append(o);
    }
    return s;
  }

  // ---- words ------------------------------------------------------------------------------
  const STATUS = {
    received: 'Diterima', pending: 'Ditunda', verified: 'Terverifikasi', disposed: 'Didisposisi',
    in_progress: 'Diproses', responded: 'Ditindaklanjuti', closed: 'Selesai', archived: 'Diarsipkan',
    cancelled: 'Dibatalkan',
  };
  const KIND = {
    created: 'Aduan masuk', amended: 'Diubah', verified: 'Diverifikasi', held: 'Ditunda',
    disposed: 'Didisposisi', forwarded: 'Diteruskan', not_authority: 'Bukan kewenangan',
    progressed: 'Sedang diproses', responded: 'Tindak lanjut', citizen_replied: 'Balasan pelapor',
    closed: 'Ditutup', reopened: 'Dibuka kembali', archived: 'Diarsipkan', cancelled: 'Dibatalkan',
    linked: 'Ditautkan', sla_breached: 'Melewati tenggat', sla_warning: 'Peringatan tenggat',
    resolved: 'Konflik diselesaikan',
  };
  const CLOCK = { verify: 'Verifikasi', followup: 'Tindak lanjut', autoclose: 'Tutup otomatis' };
  const CLOCK_STATE = {
    running: 'berjalan', paused: 'dijeda', met: 'terpenuhi', breached: 'terlambat',
    stopped: 'dihentikan',
  };
  const SYNC = {
    local: 'Hanya di simpul ini', queued: 'Dalam antrean ke atas', at_parent: 'Di simpul atas',
    at_hub: 'Di SP4N-LAPOR!', failed: 'Gagal terkirim',
  };
  const PRIVACY = { public: 'Publik', anonim: 'Anonim', rahasia: 'Rahasia' };
  const CHANNEL = {
    web: 'Web', app: 'Aplikasi', sms: 'SMS', whatsapp: 'WhatsApp', email: 'Surel',
    social: 'Media sosial', walk_in: 'Datang langsung', phone: 'Telepon', lapor: 'SP4N-LAPOR!',
    import: 'Impor', surat: 'Surat',
  };
  const TYPE = { pengaduan: 'Pengaduan', aspirasi: 'Aspirasi', permintaan_informasi: 'Permintaan informasi' };
  const CODE = {
    'invalid-json': 'Isian tidak dapat dibaca.',
    'schema-violation': 'Isian tidak sesuai bentuk yang diminta.',
    'invalid-utf8': 'Ada teks dengan huruf yang tidak sah.',
    'invalid-value': 'Ada nilai yang tidak dapat dibaca.',
    'not-found': 'Tidak ditemukan (atau bukan wewenang Anda).',
    'transition-not-allowed': 'Tindakan ini tidak diizinkan pada status aduan sekarang.',
    'idempotency-mismatch': 'Permintaan ini bentrok dengan permintaan lain yang memakai kunci sama.',
    'unauthenticated': 'Sesi berakhir atau token tidak dikenal. Silakan masuk lagi.',
    'forbidden': 'Anda tidak berhak melakukan ini.',
    'payload-too-large': 'Isian terlalu besar.',
    'unsupported-media-type': 'Jenis isian tidak didukung.',
    'storage-busy': 'Basis data sedang sibuk. Tidak ada yang tersimpan; coba lagi sebentar lagi.',
    'storage-full': 'Penyimpanan penuh. Tidak ada yang tersimpan; hubungi petugas TI.',
    'storage-failure': 'Penyimpanan gagal. Tidak ada yang tersimpan; hubungi petugas TI.',
    'unavailable': 'Simpul sedang tidak siap. Coba lagi sebentar lagi.',
    'invalid-query': 'Saringan tidak dapat dibaca.',
    'already-exists': 'Aduan dengan nomor ini sudah ada dengan isi lain.',
    'timeout': 'Waktu tunggu habis.',
  };
  const FIELD = {
    '/title': 'Judul', '/body': 'Uraian', '/type': 'Jenis', '/channel': 'Saluran',
    '/received_at': 'Waktu diterima', '/incident_at': 'Waktu kejadian', '/privacy': 'Kerahasiaan',
    '/agency': 'OPD', '/region': 'Wilayah', '/location/text': 'Lokasi',
    '/reporter/name': 'Nama pelapor', '/reporter/phone': 'Telepon pelapor',
    '/reporter/email': 'Surel pelapor', '/reporter/nik': 'NIK pelapor',
    '/payload/agency': 'OPD tujuan', '/payload/text': 'Teks', '/payload/decision': 'Keputusan',
    '/token': 'Token',
  };

  // ---- time in the node's zone --------------------------------------------------------------
  function zoneOffset() { return S.session ? S.session.node.zone_offset_minutes : 420; }
  function zoneName() { return S.session ? S.session.node.zone : 'WIB'; }
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(Date.parse(iso) + zoneOffset() * 60000);
    const p = (n) => String(n).padStart(2, '0');
    return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ` +
      `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} ${zoneName()}`;
  }
  function localDate(offsetDays) {
    const d = new Date(Date.now() + zoneOffset() * 60000 + (offsetDays || 0) * 86400000);
    return d.toISOString().slice(0, 10);
  }
  function fmtAge(s) {
    if (s === null || s === undefined) return '—';
    if (s < 60) return `${s} detik`;
    if (s < 3600) return `${Math.floor(s / 60)} menit`;
    if (s < 86400) return `${Math.floor(s / 3600)} jam`;
    return `${Math.floor(s / 86400)} hari`;
  }

  // ---- the API ------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || String(status));
      this.status = status;
      this.problem = problem;
    }
  }
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && S.session) headers['X-CSRF-Token'] = S.session.csrf;
    const res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    const text = await res.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
    if (!res.ok) {
      const err = new ApiError(res.status, doc || { title: text });
      if (res.status === 401 && S.session && path !== '/ui/session') {
        S.session = null;
        renderLogin('Sesi Anda berakhir. Silakan masuk lagi.');
      }
      throw err;
    }
    return doc;
  }
  // The API's problem in Bahasa Indonesia: what went wrong, which field, and its own words.
  function problemBox(err) {
    if (!(err instanceof ApiError)) {
      return h('div', { class: 'error', role: 'alert' },
        'Simpul tidak dapat dihubungi. Periksa jaringan lalu coba lagi.');
    }
    const p = err.problem || {};
    const code = (p.type || '').replace('urn:simpul:problem:', '');
    let msg = CODE[code] || 'Permintaan ditolak.';
    if (p.rule === 'csrf') msg = 'Formulir tidak membawa token keamanan (CSRF) yang sah. Muat ulang halaman lalu coba lagi. Tidak ada yang tersimpan.';
    else if (p.rule === 'origin') msg = 'Permintaan dari situs lain ditolak.';
    else if (p.rule === 'scope') msg = 'Token Anda tidak memiliki hak untuk tindakan ini.';
    const where = p.pointer && FIELD[p.pointer] ? `Isian “${FIELD[p.pointer]}”: ` : '';
    // What the rule asks, in words an official reads (the API's own sentence stays available).
    const RULE = {
      required: 'wajib diisi.', pattern: 'bentuknya tidak sesuai.', maxLength: 'terlalu panjang.',
      minLength: 'terlalu pendek.', enum: 'bukan salah satu pilihan yang ada.', type: 'jenis nilainya salah.',
      phone: 'nomor telepon harus diawali 0, 62 atau +62.', email: 'alamat surel harus berbentuk nama@domain.',
      timestamp: 'waktu tidak dapat dibaca.',
    };
    // A field and a rule known here: say what is wrong with that field; else the error's kind.
    const text = p.rule && RULE[p.rule] && where ? `${where.replace(/: $/, '')} ${RULE[p.rule]}` : where + msg;
    const kids = [h('strong', { text })];
    if (err.status >= 400 && err.status < 500 && code !== 'not-found' && !['csrf', 'origin', 'scope'].includes(p.rule)) {
      kids.push(' Tidak ada yang tersimpan.');
    }
    if (p.detail) {
      kids.push(h('details', { class: 'muted' }, h('summary', { text: 'Rincian teknis' }), h('span', { text: p.detail })));
    }
    return h('div', { class: 'error', role: 'alert', 'data-code': code }, ...kids);
  }
  function has(scope) {
    const s = S.session ? S.session.scopes : [];
    return s.includes('admin') || s.includes(scope);
  }
  const isAdmin = () => has('admin');
  const bound = () => !isAdmin() && S.session && S.session.agencies.length > 0;

  async function agencies() {
    if (S.agencies) return S.agencies;
    try {
      S.agencies = await api('GET', '/v1/reference/agencies');
    } catch (e) {
      S.agencies = [];
    }
    return S.agencies;
  }
  function agencyName(id) {
    if (!id) return '—';
    const a = (S.agencies || []).find((x) => x.id === id);
    return a ? a.name : id;
  }

  // ---- login --------------------------------------------------------------------------------
  function renderLogin(message) {
    stopRefresh();
    document.getElementById('menu').hidden = true;
    document.getElementById('who').replaceChildren();
    document.getElementById('simpul-node').textContent = '';
    const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true });
    const out = h('div', { 'aria-live': 'polite' });
    const form = h('form', {
      class: 'login stack',
      onsubmit: async (ev) => {
        ev.preventDefault();
        out.replaceChildren();
        try {
          S.session = await api('POST', '/ui/session', { token: token.value.trim() });
          token.value = '';
          start();
        } catch (e) {
          out.replaceChildren(problemBox(e));
        }
      },
    },
    h('h1', { text: 'Masuk ke Simpul' }),
    message ? h('p', { class: 'notice', text: message }) : null,
    h('p', { class: 'muted', text: 'Masuk dengan token yang diberikan admin simpul ini (simpul token create).' }),
    field('Token', token),
    h('button', { type: 'submit', text: 'Masuk' }),
    out);
    show(form);
    token.focus();
  }

  async function logout() {
    try { await api('DELETE', '/ui/session'); } catch (e) { /* the session is gone either way */ }
    S.session = null;
    renderLogin('Anda sudah keluar.');
  }

  // ---- layout -------------------------------------------------------------------------------
  const PAGES = [
    ['ringkasan', 'Ringkasan', () => true],
    ['aduan', 'Aduan', () => true],
    ['entri', 'Entri manual', () => has('ingest')],
    ['tunggakan', 'Tunggakan', () => true],
    ['kinerja', 'Kinerja OPD', () => true],
    ['gagal', 'Antrean gagal', () => isAdmin()],
    ['konflik', 'Konflik', () => isAdmin()],
    ['bawahan', 'Simpul bawahan', () => S.session.node.children > 0 && !bound()],
  ];
  function renderChrome(current) {
    const menu = document.getElementById('menu');
    menu.hidden = false;
    menu.replaceChildren(...PAGES.filter((p) => p[2]()).map(([id, label]) =>
      h('a', { href: `#/${id}`, 'aria-current': id === current ? 'page' : null, text: label })));
    const n = S.session.node;
    document.getElementById('simpul-node').textContent = `${n.name || n.id} (${n.tier}, ${n.region})`;
    const who = document.getElementById('who');
    const role = { admin: 'Admin', operator: 'Operator', agency: 'Petugas OPD' }[S.session.role] || S.session.role;
    const scope = bound() ? `OPD: ${S.session.agencies.map(agencyName).join(', ')}` : role;
    who.replaceChildren(h('span', { text: `${S.session.name} · ${scope}` }),
      h('button', { type: 'button', onclick: logout, text: 'Keluar' }));
  }
  function stopRefresh() {
    if (S.timer) clearInterval(S.timer);
    S.timer = null;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const [path, query] = raw.split('?');
    const parts = path.split('/').filter(Boolean);
    return { page: parts[0] || 'ringkasan', arg: parts[1] ? decodeURIComponent(parts[1]) : null,
      query: new URLSearchParams(query || '') };
  }
  async function route() {
    if (!S.session) return;
    stopRefresh();
    main().removeAttribute('data-ready');
    const r = parseHash();
    const page = PAGES.find((p) => p[0] === r.page && p[2]());
    const name = page ? page[0] : 'ringkasan';
    renderChrome(name);
    try {
      if (name === 'aduan' && r.arg) await pageComplaint(r.arg);
      else await ({
        ringkasan: pageOverview, aduan: pageList, entri: pageEntry, tunggakan: pageWorkload,
        kinerja: pageReport, gagal: pageDeadLetters, konflik: pageConflicts, bawahan: pageChildren,
      })[name](r.query);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      show(h('h1', { text: 'Terjadi kesalahan' }), problemBox(e));
    }
    // Which address this page shows, once drawn (what the browser tests wait for).
    main().dataset.ready = location.hash;
    main().focus({ preventScroll: true });
  }

  // ---- 1. Ringkasan -------------------------------------------------------------------------
  function card(label, n, bad) {
    return h('div', { class: bad && n > 0 ? 'card bad' : 'card' }, h('div', { class: 'n', text: n }), h('div', { text: label }));
  }
  function healthBadge(state) {
    const cls = state === 'ok' || state === 'healthy' ? 'ok' : state === 'unknown' ? '' : 'bad';
    return h('span', { class: `badge ${cls}`, text: state });
  }
  async function pageOverview() {
    const draw = async () => {
      const o = await api('GET', '/v1/overview');
      const nodes = [h('h1', { text: 'Ringkasan' }),
        h('p', { class: 'muted', text: `Hari ini sejak ${fmtTime(o.today.since)} · diperbarui ${fmtTime(o.now)} · memperbarui sendiri tiap 15 detik` }),
        h('h2', { text: 'Arus hari ini' }),
        h('div', { class: 'cards' }, card('Diterima', o.today.received), card('Didisposisi', o.today.disposed),
          card('Ditindaklanjuti', o.today.responded), card('Ditutup', o.today.closed)),
        h('h2', { text: 'Melewati tenggat' }),
        h('div', { class: 'cards' },
          ...Object.keys(CLOCK).map((c) => h('a', { href: `#/aduan?overdue=${c}`, class: 'card-link' },
            card(CLOCK[c], o.overdue[c], true))))];
      if (o.upstream !== undefined) {
        nodes.push(h('h2', { text: 'Tautan ke atas' }));
        if (!o.upstream) nodes.push(h('p', { class: 'muted', text: 'Simpul ini tidak punya simpul atas.' }));
        else {
          const u = o.upstream;
          nodes.push(h('dl', { class: 'kv' },
            h('dt', { text: 'Tujuan' }), h('dd', { text: `${u.node} (dialek ${u.dialect})` }),
            h('dt', { text: 'Pemutus sirkuit' }), h('dd', {}, u.breaker_open ? h('span', { class: 'badge bad', text: 'TERBUKA (tautan dijeda)' }) : h('span', { class: 'badge ok', text: 'tertutup' })),
            h('dt', { text: 'Antrean' }), h('dd', { text: `${u.pending} menunggu (${u.retrying} diulang)` }),
            h('dt', { text: 'Keterlambatan' }), h('dd', { text: fmtAge(u.lag_s) }),
            h('dt', { text: 'Gagal beruntun' }), h('dd', { text: u.consecutive_failures }),
            h('dt', { text: 'Galat terakhir' }), h('dd', { text: u.last_error || '—' }),
            h('dt', { text: 'Surat mati' }), h('dd', { text: u.dead })));
        }
      }
      if (o.connectors) {
        nodes.push(h('h2', { text: 'Konektor' }));
        nodes.push(o.connectors.length === 0 ? h('p', { class: 'muted', text: 'Tidak ada konektor.' })
          : h('div', { class: 'scroll' }, h('table', {},
            h('thead', {}, h('tr', {}, ...['Konektor', 'Jenis', 'Kesehatan', 'Keluar menunggu', 'Surat mati', 'Galat terakhir'].map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, ...o.connectors.map((c) => h('tr', {}, h('td', { text: c.id }), h('td', { text: c.type }),
              h('td', {}, healthBadge(c.health)), h('td', { text: c.outbox_pending }), h('td', { text: c.dead }),
              h('td', { text: c.last_error || '—' })))))));
      }
      if (o.loops && o.loops.length) {
        nodes.push(h('h2', { text: 'Proses yang bermasalah' }));
        nodes.push(h('ul', {}, ...o.loops.map((l) => h('li', { text: `${l.name}: ${l.state} (${l.last_error})` }))));
      }
      if (o.dead_letters !== undefined) {
        nodes.push(h('h2', { text: 'Antrean gagal' }));
        nodes.push(h('p', {}, `${o.dead_letters} surat mati. `, isAdmin() ? h('a', { href: '#/gagal', text: 'Lihat' }) : null));
      }
      show(...nodes);
    };
    await draw();
    S.timer = setInterval(() => { draw().catch(() => {}); }, 15000);
  }

  // ---- 2. Aduan -----------------------------------------------------------------------------
  function overdueBadges(c) {
    const now = Date.now();
    const out = [];
    for (const k of Object.keys(CLOCK)) {
      const due = c.deadlines && c.deadlines[`${k}_due`];
      if (due && Date.parse(due) < now) out.push(h('span', { class: 'badge bad', text: `${CLOCK[k]} terlambat` }));
    }
    if (c.conflicts && c.conflicts.some((x) => !x.resolved_at)) out.push(h('span', { class: 'badge warn', text: 'konflik' }));
    return out;
  }
  function syncCell(c) {
    const lapor = (c.refs || []).find((r) => r.system === 'lapor');
    const label = SYNC[c.sync] || c.sync || '—';
    const cls = c.sync === 'failed' ? 'badge bad' : c.sync === 'at_hub' ? 'badge ok' : 'badge';
    return h('span', { class: cls, text: lapor ? `${label} #${lapor.id}` : label });
  }
  async function pageList(q) {
    await agencies();
    const form = h('form', { class: 'filters', role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const el of form.elements) if (el.name && el.value) p.set(el.name, el.value);
      location.hash = `#/aduan?${p.toString()}`;
    } },
    field('Status', select('status', [['', 'Semua'], ...Object.entries(STATUS)], q.get('status'))),
    field('OPD', select('agency', [['', 'Semua'], ...S.agencies.map((a) => [a.id, a.name])], q.get('agency'))),
    field('Terlambat', select('overdue', [['', '—'], ['any', 'Tenggat mana pun'], ...Object.entries(CLOCK)], q.get('overdue'))),
    field('Saluran', select('channel', [['', 'Semua'], ...Object.entries(CHANNEL)], q.get('channel'))),
    field('Kerahasiaan', select('privacy', [['', 'Semua'], ...Object.entries(PRIVACY)], q.get('privacy'))),
    field('Sinkron', select('sync', [['', 'Semua'], ...Object.entries(SYNC)], q.get('sync'))),
    S.session.node.full_text ? field('Cari teks', h('input', { type: 'search', name: 'q', value: q.get('q') || '' })) : null,
    h('button', { type: 'submit', text: 'Saring' }));
    const params = new URLSearchParams();
    for (const k of ['status', 'agency', 'overdue', 'channel', 'privacy', 'sync', 'q', 'cursor', 'conflict']) if (q.get(k)) params.set(k, q.get(k));
    params.set('limit', '25');
    let page;
    try {
      page = await api('GET', `/v1/complaints?${params.toString()}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      show(h('h1', { text: 'Aduan' }), form, problemBox(e));
      return;
    }
    const rows = page.items.map((c) => h('tr', {},
      h('td', {}, h('a', { href: `#/aduan/${encodeURIComponent(c.id)}`, text: c.title || c.id })),
      h('td', { text: STATUS[c.status] || c.status }),
      h('td', { text: agencyName(c.agency) }),
      h('td', { text: CHANNEL[c.channel] || c.channel }),
      h('td', { text: PRIVACY[c.privacy] || c.privacy }),
      h('td', {}, syncCell(c)),
      h('td', {}, ...overdueBadges(c)),
      h('td', { text: fmtTime(c.received_at) })));
    const back = q.get('cursor') ? h('button', { type: 'button', class: 'secondary', onclick: () => history.back(), text: '← Sebelumnya' }) : null;
    const next = page.next_cursor ? h('a', { href: `#/aduan?${(() => { const p = new URLSearchParams(params); p.delete('limit'); p.set('cursor', page.next_cursor); return p.toString(); })()}`, text: 'Berikutnya →' }) : null;
    show(h('h1', { text: 'Aduan' }), form,
      rows.length === 0 ? h('p', { class: 'muted', text: 'Tidak ada aduan yang cocok.' })
        : h('div', { class: 'scroll' }, h('table', { id: 'daftar-aduan' },
          h('thead', {}, h('tr', {}, ...['Judul', 'Status', 'OPD', 'Saluran', 'Kerahasiaan', 'Sinkron', 'Tenggat', 'Diterima'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, ...rows))),
      h('div', { class: 'pager' }, back, next));
  }

  // ---- 3. One complaint ---------------------------------------------------------------------
  const ACTION = {
    verified: 'Verifikasi', held: 'Tunda', disposed: 'Disposisi ke OPD', forwarded: 'Teruskan ke OPD lain',
    not_authority: 'Bukan kewenangan kami', progressed: 'Tandai sedang diproses', responded: 'Kirim tindak lanjut',
    closed: 'Tutup aduan', reopened: 'Buka kembali', archived: 'Arsipkan', cancelled: 'Batalkan',
  };
  function actionForm(c, kind, done) {
    const out = h('div', { 'aria-live': 'polite' });
    const inputs = [];
    let payload = () => ({});
    if (kind === 'disposed' || kind === 'forwarded') {
      // Forwarding hands it to another agency; a disposition may confirm the suggested one.
      const others = S.agencies.filter((a) => kind === 'disposed' || a.id !== c.agency);
      const sel = others.length ? select('agency', [['', '— pilih OPD —'], ...others.map((a) => [a.id, a.name])], '')
        : h('input', { name: 'agency', required: true });
      sel.required = true;
      inputs.push(field('OPD tujuan', sel));
      payload = () => ({ agency: sel.value });
    } else if (kind === 'responded') {
      const t = h('textarea', { name: 'text', required: true, maxlength: 20000 });
      inputs.push(field('Teks tindak lanjut (dikirim ke pelapor)', t));
      payload = () => ({ text: t.value });
    } else {
      const t = h('input', { name: 'note', maxlength: 2000 });
      inputs.push(field('Catatan (tidak wajib)', t));
      payload = () => (t.value ? { note: t.value } : {});
    }
    const form = h('form', { class: 'stack', 'data-action': kind, onsubmit: async (ev) => {
      ev.preventDefault();
      out.replaceChildren();
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await api('POST', `/v1/complaints/${encodeURIComponent(c.id)}/events`, { kind, payload: payload() });
        done(`${ACTION[kind]}: tersimpan.`);
      } catch (e) {
        out.replaceChildren(problemBox(e));
        button.disabled = false;
      }
    } }, h('h3', { text: ACTION[kind] }), ...inputs,
    h('button', { type: 'submit', class: kind === 'cancelled' ? 'danger' : null, text: ACTION[kind] }), out);
    return form;
  }
  async function pageComplaint(id, notice) {
    await agencies();
    const c = await api('GET', `/v1/complaints/${encodeURIComponent(id)}`);
    const reload = (msg) => pageComplaint(id, msg).catch((e) => show(problemBox(e)));
    const refs = (c.refs || []).map((r) => `${r.system === 'lapor' ? 'SP4N-LAPOR!' : r.system} #${r.id}`);
    const rep = c.reporter;
    const info = h('dl', { class: 'kv' },
      h('dt', { text: 'Nomor' }), h('dd', { text: c.id }),
      h('dt', { text: 'Status' }), h('dd', { text: STATUS[c.status] || c.status }),
      h('dt', { text: 'Jenis' }), h('dd', { text: TYPE[c.type] || c.type }),
      h('dt', { text: 'OPD' }), h('dd', { text: agencyName(c.agency) }),
      h('dt', { text: 'Saluran' }), h('dd', { text: CHANNEL[c.channel] || c.channel }),
      h('dt', { text: 'Kerahasiaan' }), h('dd', { text: PRIVACY[c.privacy] || c.privacy }),
      h('dt', { text: 'Wilayah' }), h('dd', { text: c.region || '—' }),
      h('dt', { text: 'Lokasi' }), h('dd', { text: (c.location && c.location.text) || '—' }),
      h('dt', { text: 'Diterima' }), h('dd', { text: fmtTime(c.received_at) }),
      h('dt', { text: 'Sinkron' }), h('dd', {}, syncCell(c)),
      h('dt', { text: 'Nomor di sistem lain' }), h('dd', { text: refs.length ? refs.join(', ') : '—' }),
      h('dt', { text: 'Pelapor' }), h('dd', { text: rep ? [rep.name, rep.phone, rep.email].filter(Boolean).join(' · ') || '—' : 'tidak ditampilkan (perlu hak pii)' }));
    const clocks = (c.clocks || []).length === 0 ? h('p', { class: 'muted', text: 'Belum ada tenggat.' })
      : h('div', { class: 'scroll' }, h('table', { id: 'tenggat' },
        h('thead', {}, h('tr', {}, ...['Tenggat', 'Pemilik', 'Mulai', 'Jatuh tempo', 'Dijeda', 'Keadaan', 'Terlambat sejak'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, ...c.clocks.map((k) => h('tr', {},
          h('td', { text: CLOCK[k.name] || k.name }), h('td', { text: k.owner === 'admin' ? 'Admin' : k.owner === 'system' ? 'Sistem' : agencyName(k.owner) }),
          h('td', { text: fmtTime(k.started) }), h('td', { text: fmtTime(k.due) }),
          h('td', { text: k.paused_working_days ? `${k.paused_working_days} hari kerja` : '—' }),
          h('td', {}, h('span', { class: k.state === 'breached' ? 'badge bad' : k.state === 'met' ? 'badge ok' : 'badge', text: CLOCK_STATE[k.state] || k.state })),
          h('td', { text: k.breached_at ? fmtTime(k.breached_at) : '—' }))))));
    const events = (c.events || []).slice().sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const timeline = h('ol', { class: 'timeline', id: 'linimasa' }, ...events.map((e) => h('li', {},
      h('strong', { text: KIND[e.kind] || e.kind }), ' · ', fmtTime(e.at),
      h('div', { class: 'muted', text: `oleh ${e.actor.name || e.actor.role}${e.actor.agency ? ` (${agencyName(e.actor.agency)})` : ''} · asal ${e.origin} · jalur ${(e.hops || []).join(' → ')}` }),
      e.payload && e.payload.text ? h('div', { text: e.payload.text }) : null,
      e.payload && e.payload.agency && e.kind !== 'created' ? h('div', { text: `ke ${agencyName(e.payload.agency)}` }) : null)));
    const conflicts = (c.conflicts || []).filter((x) => !x.resolved_at);
    const actions = (c.actions || []).filter((k) => ACTION[k]);
    show(h('p', {}, h('a', { href: '#/aduan', text: '← Daftar aduan' })),
      h('h1', { text: c.title || c.id }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      h('div', { class: 'grid2' }, h('section', {}, h('h2', { text: 'Keterangan' }), info),
        h('section', {}, h('h2', { text: 'Uraian' }), h('p', { text: c.body }))),
      h('h2', { text: 'Tenggat' }), clocks,
      conflicts.length ? h('p', { class: 'error' }, `${conflicts.length} konflik belum diselesaikan. `, isAdmin() ? h('a', { href: '#/konflik', text: 'Selesaikan' }) : null) : null,
      h('h2', { text: 'Tindakan' }),
      actions.length === 0 ? h('p', { class: 'muted', text: 'Tidak ada tindakan yang dapat Anda lakukan sekarang.' })
        : h('div', { class: 'grid2 actions' }, ...actions.map((k) => actionForm(c, k, reload))),
      h('h2', { text: 'Linimasa' }), timeline);
  }

  // ---- 4. Entri manual ----------------------------------------------------------------------
  async function pageEntry() {
    await agencies();
    const out = h('div', { 'aria-live': 'polite' });
    const f = {
      channel: select('channel', [['phone', 'Telepon'], ['walk_in', 'Datang langsung'], ['surat', 'Surat'], ['email', 'Surel'], ['sms', 'SMS'], ['whatsapp', 'WhatsApp']], 'phone'),
      type: select('type', Object.entries(TYPE), 'pengaduan'),
      title: h('input', { name: 'title', required: true, maxlength: 300 }),
      body: h('textarea', { name: 'body', required: true }),
      received_at: h('input', { name: 'received_at', type: 'datetime-local', required: true }),
      location: h('input', { name: 'location' }),
      privacy: select('privacy', Object.entries(PRIVACY), 'anonim'),
      name: h('input', { name: 'reporter_name', autocomplete: 'off' }),
      phone: h('input', { name: 'reporter_phone', autocomplete: 'off' }),
      email: h('input', { name: 'reporter_email', autocomplete: 'off' }),
    };
    const now = new Date(Date.now() + zoneOffset() * 60000).toISOString().slice(0, 16);
    f.received_at.value = now;
    const form = h('form', { class: 'stack', id: 'entri', onsubmit: async (ev) => {
      ev.preventDefault();
      out.replaceChildren();
      const off = zoneOffset();
      const sign = off >= 0 ? '+' : '-';
      const zone = `${sign}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
      const doc = {
        type: f.type.value, title: f.title.value, body: f.body.value, channel: f.channel.value,
        received_at: f.received_at.value ? `${f.received_at.value}:00${zone}` : '', privacy: f.privacy.value,
      };
      if (f.location.value) doc.location = { text: f.location.value };
      const reporter = {};
      if (f.name.value) reporter.name = f.name.value;
      if (f.phone.value) reporter.phone = f.phone.value;
      if (f.email.value) reporter.email = f.email.value;
      if (Object.keys(reporter).length) doc.reporter = reporter;
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        const r = await api('POST', '/v1/complaints', doc);
        location.hash = `#/aduan/${encodeURIComponent(r.id)}`;
      } catch (e) {
        out.replaceChildren(problemBox(e));
        button.disabled = false;
      }
    } },
    h('div', { class: 'grid2' }, field('Saluran', f.channel), field('Jenis', f.type),
      field(`Waktu diterima (${zoneName()})`, f.received_at), field('Kerahasiaan', f.privacy)),
    field('Judul', f.title), field('Uraian', f.body), field('Lokasi', f.location),
    h('fieldset', {}, h('legend', { text: 'Pelapor (tidak wajib; tidak dikirim ke atas bila anonim atau rahasia)' }),
      h('div', { class: 'grid2' }, field('Nama', f.name), field('Telepon', f.phone), field('Surel', f.email))),
    h('button', { type: 'submit', text: 'Simpan aduan' }), out);
    show(h('h1', { text: 'Entri manual' }),
      h('p', { class: 'muted', text: 'Untuk aduan yang datang lewat telepon, datang langsung, atau surat. Petugas yang masuk tercatat sebagai yang mengisi.' }),
      form);
  }

  // ---- 5. Tunggakan -------------------------------------------------------------------------
  async function pageWorkload() {
    await agencies();
    const w = await api('GET', '/v1/workload');
    const rows = w.items.map((r) => h('tr', {},
      h('td', { text: r.agency ? agencyName(r.agency) : 'Admin (belum didisposisi)' }),
      h('td', { text: CLOCK[r.clock] || r.clock }),
      h('td', {}, r.overdue > 0 ? h('a', { href: `#/aduan?overdue=${r.clock}${r.agency ? `&agency=${encodeURIComponent(r.agency)}` : ''}` }, h('span', { class: 'badge bad', text: `${r.overdue} terlambat` })) : '0'),
      h('td', { text: r.due_today })));
    show(h('h1', { text: 'Tunggakan per OPD' }),
      h('p', { class: 'muted', text: `Yang harus dikerjakan hari ini: tenggat yang sudah lewat, dan yang jatuh tempo sebelum ${fmtTime(w.until)}.` }),
      rows.length === 0 ? h('p', { class: 'notice', text: 'Tidak ada tunggakan. Semua tenggat masih aman.' })
        : h('div', { class: 'scroll' }, h('table', { id: 'tunggakan' },
          h('thead', {}, h('tr', {}, ...['OPD', 'Tenggat', 'Terlambat', 'Jatuh tempo hari ini'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, ...rows))));
  }

  // ---- 6. Kinerja OPD -----------------------------------------------------------------------
  // A rate of the report: {count, n, rate}; rate null below the report's minimum N.
  function pct(r) {
    if (!r || r.rate === null || r.rate === undefined) return `data belum cukup (${r ? r.count : 0} dari ${r ? r.n : 0})`;
    return `${(r.rate * 100).toFixed(1)}% (${r.count} dari ${r.n})`;
  }
  function bar(r) {
    const width = !r || r.rate === null || r.rate === undefined ? 0 : Math.round(r.rate * 100);
    return h('div', { class: 'bar', role: 'img', 'aria-label': pct(r) }, h('span', { 'data-w': width }));
  }
  async function pageReport(q) {
    await agencies();
    const from = q.get('from') || localDate(-29);
    const to = q.get('to') || localDate(0);
    const fromI = h('input', { type: 'date', name: 'from', value: from, required: true });
    const toI = h('input', { type: 'date', name: 'to', value: to, required: true });
    const form = h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = `#/kinerja?from=${fromI.value}&to=${toI.value}`;
    } }, field('Dari', fromI), field('Sampai', toI), h('button', { type: 'submit', text: 'Tampilkan' }));
    const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    let r;
    try {
      r = await api('GET', `/v1/reports/agencies?${query}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      show(h('h1', { text: 'Kinerja OPD' }), form, problemBox(e));
      return;
    }
    const rows = (r.agencies || []).map((a) => h('tr', {},
      h('td', { text: agencyName(a.agency) }),
      h('td', { text: a.received }),
      h('td', {}, bar(a.followed_up_in_time), pct(a.followed_up_in_time)),
      h('td', {}, bar(a.done), pct(a.done)),
      h('td', {}, pct(a.in_process)),
      h('td', { text: a.overdue_now }),
      h('td', { text: a.last_action ? fmtTime(a.last_action) : '—' })));
    show(h('h1', { text: 'Kinerja OPD' }), form,
      h('p', { class: 'muted', text: `Periode ${r.from} s.d. ${r.to}; hari kerja menurut kalender ${r.calendar || ''}. Persentase di bawah ${r.min_n} aduan ditulis “data belum cukup”.` }),
      h('p', {}, h('a', { href: `/v1/reports/agencies?${query}&format=csv`, download: `kinerja-opd-${from}-${to}.csv`, text: 'Unduh CSV' })),
      h('div', { class: 'scroll' }, h('table', { id: 'kinerja' },
        h('thead', {}, h('tr', {}, ...['OPD', 'Diterima', 'Ditindaklanjuti ≤ 5 hari kerja', 'Selesai', 'Dalam proses', 'Terlambat kini', 'Aktivitas terakhir'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, ...rows))));
    // Bar widths are set from script (the page allows no inline styles).
    for (const s of main().querySelectorAll('.bar span')) s.style.width = `${s.dataset.w}%`;
  }

  // ---- 7. Antrean gagal, konflik ------------------------------------------------------------
  async function pageDeadLetters(q, notice) {
    const d = await api('GET', '/v1/dead-letters');
    const out = h('div', { 'aria-live': 'polite' });
    const act = async (id, what) => {
      out.replaceChildren();
      try {
        await api('POST', `/v1/dead-letters/${id}/${what}`, {});
        await pageDeadLetters(q, what === 'retry' ? `Surat mati ${id} dikirim ulang.` : `Surat mati ${id} dibuang.`);
      } catch (e) {
        out.replaceChildren(problemBox(e));
      }
    };
    const rows = d.items.map((x) => h('tr', {},
      h('td', { text: x.id }), h('td', { text: x.destination }),
      h('td', {}, x.complaint_id ? h('a', { href: `#/aduan/${encodeURIComponent(x.complaint_id)}`, text: x.complaint_id }) : '—'),
      h('td', { text: x.error }), h('td', { text: fmtTime(x.created_at) }),
      h('td', {}, x.inbound ? null : h('button', { type: 'button', onclick: () => act(x.id, 'retry'), text: 'Kirim ulang' }), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => act(x.id, 'drop'), text: 'Buang' }))));
    show(h('h1', { text: 'Antrean gagal (surat mati)' }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null, out,
      h('p', { class: 'muted', text: 'Peristiwa yang ditolak tujuannya, dan catatan dari aplikasi yang tidak dapat dipetakan. Membuang tidak menghapus peristiwa dari simpul ini.' }),
      rows.length === 0 ? h('p', { class: 'notice', text: 'Tidak ada surat mati.' })
        : h('div', { class: 'scroll' }, h('table', { id: 'surat-mati' },
          h('thead', {}, h('tr', {}, ...['No.', 'Tujuan', 'Aduan', 'Galat', 'Waktu', 'Tindakan'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, ...rows))));
  }
  async function pageConflicts(q, notice) {
    const page = await api('GET', '/v1/complaints?conflict=true&limit=100');
    const blocks = [];
    for (const c of page.items) {
      for (const x of (c.conflicts || []).filter((k) => !k.resolved_at)) {
        const out = h('div', { 'aria-live': 'polite' });
        const decision = h('input', { name: 'decision', required: true, maxlength: 500 });
        const form = h('form', { class: 'stack', onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            await api('POST', `/v1/complaints/${encodeURIComponent(c.id)}/events`, { kind: 'resolved', payload: { event_id: x.event_id, decision: decision.value } });
            await pageConflicts(q, 'Konflik diselesaikan.');
          } catch (e) {
            out.replaceChildren(problemBox(e));
          }
        } }, h('p', {}, h('a', { href: `#/aduan/${encodeURIComponent(c.id)}`, text: c.title || c.id })),
        h('p', { text: `${KIND[x.kind] || x.kind}: ${x.reason}` }),
        field('Keputusan', decision), h('button', { type: 'submit', text: 'Selesaikan' }), out);
        blocks.push(h('div', { class: 'card' }, form));
      }
    }
    show(h('h1', { text: 'Konflik' }), notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      h('p', { class: 'muted', text: 'Peristiwa yang tidak sesuai urutan status (misalnya penutupan dari simpul atas untuk aduan yang belum dijawab). Tetap tersimpan; admin memutuskan.' }),
      blocks.length === 0 ? h('p', { class: 'notice', text: 'Tidak ada konflik yang terbuka.' }) : h('div', { class: 'grid2' }, ...blocks));
  }

  // ---- 8. Simpul bawahan --------------------------------------------------------------------
  async function pageChildren() {
    await agencies();
    const o = await api('GET', '/v1/overview');
    const rows = (o.children || []).map((c) => h('tr', {},
      h('td', { text: c.id }), h('td', { text: c.unfetched }), h('td', { text: fmtAge(c.lag_s) }),
      h('td', { text: c.last_poll_s === null ? 'belum sejak simpul ini mulai' : `${fmtAge(c.last_poll_s)} lalu` }),
      h('td', { text: c.acked_at ? fmtTime(c.acked_at) : '—' })));
    const from = localDate(-29);
    const to = localDate(0);
    let report = null;
    try {
      report = await api('GET', `/v1/reports/agencies?from=${from}&to=${to}`);
    } catch (e) {
      report = null;
    }
    show(h('h1', { text: 'Simpul bawahan' }),
      h('div', { class: 'scroll' }, h('table', { id: 'bawahan' },
        h('thead', {}, h('tr', {}, ...['Simpul', 'Belum diambil', 'Keterlambatan', 'Terakhir bertanya', 'Terakhir diakui'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, ...rows))),
      h('h2', { text: `Kinerja OPD di wilayah bawahan (${from} s.d. ${to})` }),
      report ? h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ...['OPD', 'Diterima', 'Ditindaklanjuti ≤ 5 hari kerja', 'Selesai', 'Terlambat kini'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, ...(report.agencies || []).map((a) => h('tr', {}, h('td', { text: agencyName(a.agency) }), h('td', { text: a.received }),
          h('td', { text: pct(a.followed_up_in_time) }), h('td', { text: pct(a.done) }), h('td', { text: a.overdue_now }))))))
        : h('p', { class: 'muted', text: 'Laporan tidak tersedia.' }),
      h('p', {}, h('a', { href: `#/kinerja?from=${from}&to=${to}`, text: 'Laporan lengkap dan CSV' })));
  }

  // ---- start --------------------------------------------------------------------------------
  async function start() {
    S.agencies = null;
    await agencies();
    if (!location.hash || location.hash === '#/') location.hash = '#/ringkasan';
    else await route();
  }
  async function boot() {
    try {
      S.session = await api('GET', '/ui/session');
    } catch (e) {
      renderLogin();
      return;
    }
    await start();
  }
  window.addEventListener('hashchange', () => { if (S.session) route(); else renderLogin(); });
  document.addEventListener('DOMContentLoaded', boot);
})();
