// The Vantage widget inside its frame. Before the click: the card, its words in the reader's
// language, and the crowd's recent aggregate for the reader's country (aggregates only; no
// measurement). On the click: loads the engine (wasm), measures, shows the verdicts, and tells
// the host page the verdicts only. Submitting is a separate button. Messages go to the host's
// exact origin (given by the loader, checked against the browser's own ancestor list where it
// has one) and only to the parent frame; the widget accepts no messages.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const VERSION = 1;
const LANGS = ["en", "ur", "fa", "ru", "tr", "es"];
const RTL = ["ur", "fa"];

function hostOrigin() {
  const claimed = params.get("host");
  if (!claimed || window.parent === window) return null;
  let origin;
  try {
    origin = new URL(claimed).origin;
  } catch (_) {
    return null;
  }
  if (origin !== claimed || origin === "null") return null;
  const ancestors = location.ancestorOrigins;
  if (ancestors && ancestors.length && ancestors[0] !== origin) return null;
  return origin;
}
const host = hostOrigin();

function post(message) {
  // Delivered only if the parent's origin is exactly `host`.
  if (host) window.parent.postMessage(message, host);
}

function pickLang() {
  const wanted = [params.get("lang"), ...(navigator.languages || [])].filter(Boolean);
  for (const tag of wanted) {
    const base = tag.toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}
const lang = pickLang();
let words = {};

function fill(template, args) {
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in args ? args[name] : m));
}
function t(key, args) {
  const el = document.querySelector(`[data-i18n="${key}"]`);
  const template = words[key] || (el && el.dataset.english) || key;
  return args ? fill(template, args) : template;
}

async function loadWords() {
  document.documentElement.lang = lang;
  document.documentElement.dir = RTL.includes(lang) ? "rtl" : "ltr";
  for (const el of document.querySelectorAll("[data-i18n]")) el.dataset.english = el.textContent;
  try {
    const res = await fetch(`i18n/widget/${lang}.json`);
    if (res.ok) words = await res.json();
  } catch (_) {
    // English stays.
  }
  for (const el of document.querySelectorAll("[data-i18n]")) if (words[el.dataset.i18n]) el.textContent = words[el.dataset.i18n];
  if (lang !== "en") $("full").href = `/?lang=${lang}`;
}

const num = (n) => new Intl.NumberFormat(lang).format(n);

// The crowd's picture for the reader's country, from aggregates only; withheld cells never
// reach the widget. Shown only when something is known.
async function liveStatus() {
  try {
    const res = await fetch("/api/v1/nearby?hours=2");
    if (!res.ok) return;
    const near = await res.json();
    const cells = (near.country_cells || []).filter((c) => !c.control && c.decided > 0);
    if (!near.country || !cells.length) return;
    const reports = Math.max(...(near.country_cells || []).map((c) => c.reports));
    const out = cells.filter((c) => c.disrupted * 2 > c.decided).map((c) => c.target);
    let names = {};
    if (out.length) {
      const list = await (await fetch("/api/v1/targets")).json();
      for (const target of list.targets || []) names[target.id] = target.name;
    }
    let country = near.country;
    try {
      country = new Intl.DisplayNames([lang], { type: "region" }).of(near.country) || country;
    } catch (_) {}
    const time = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" }).format(new Date(near.since));
    const args = { country, reports: num(reports), time, targets: out.map((id) => names[id] || id).join(", ") };
    const el = $("status");
    el.textContent = t(out.length ? "widget.recent" : "widget.recent_clear", args);
    el.dataset.state = out.length ? "disrupted" : "clear";
    el.hidden = false;
  } catch (_) {
    // No status is better than a wrong one.
  }
}

const ICONS = { reachable: "✓", blocked: "✕", timeout: "✕", tampered: "✕", throttled: "◐", local_block: "⊘", inconclusive: "?" };

function showRows(rows) {
  const list = $("rows");
  list.textContent = "";
  for (const row of rows) {
    const li = document.createElement("li");
    li.dataset.target = row.target;
    li.dataset.verdict = row.verdict;
    li.className = `verdict-${row.verdict}${row.control ? " control" : ""}`;
    const icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = ICONS[row.verdict] || "?";
    const name = document.createElement("b");
    name.textContent = row.name;
    const verdict = document.createElement("span");
    verdict.textContent = row.words;
    li.append(icon, name, " ", verdict);
    list.append(li);
  }
}

let engine = null;

async function run() {
  const card = $("card");
  $("run").disabled = true;
  $("error").hidden = true;
  card.dataset.state = "running";
  card.setAttribute("aria-busy", "true");
  $("intro").hidden = true;
  $("progress").hidden = false;
  $("progress-text").textContent = t("widget.running", { done: num(0), total: "…" });
  try {
    if (!engine) {
      engine = await import("./engine/engine.js");
      await engine.default();
    }
    const outcome = await engine.measure(lang, (m) => {
      $("bar").max = m.total || 1;
      $("bar").value = m.done;
      $("progress-text").textContent = t("widget.running", { done: num(m.done), total: num(m.total) });
      post(m);
    });
    $("summary").textContent = outcome.summary;
    showRows(outcome.rows);
    $("progress").hidden = true;
    $("run").hidden = true;
    $("done").hidden = false;
    card.dataset.state = "done";
    post(outcome.message);
  } catch (e) {
    $("error").textContent = t("widget.error", { error: String(e && e.message ? e.message : e) });
    $("error").hidden = false;
    $("progress").hidden = true;
    $("intro").hidden = false;
    card.dataset.state = "idle";
    $("run").disabled = false;
  }
  card.setAttribute("aria-busy", "false");
}

async function submit() {
  const button = $("submit");
  const status = $("submit-status");
  button.disabled = true;
  status.dataset.state = "sending";
  status.textContent = t("widget.sending");
  try {
    await engine.submit();
    status.dataset.state = "sent";
    status.textContent = t("widget.sent");
  } catch (e) {
    status.dataset.state = "failed";
    status.textContent = t("widget.failed", { error: String(e) });
    button.disabled = false;
  }
  button.dataset.state = status.dataset.state;
}

function watchHeight() {
  let last = 0;
  const report = () => {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== last) {
      last = height;
      post({ type: "vantage:resize", version: VERSION, height });
    }
  };
  new ResizeObserver(report).observe(document.body);
  report();
}

async function start() {
  const theme = params.get("theme");
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  $("run").addEventListener("click", run);
  $("submit").addEventListener("click", submit);
  await loadWords();
  watchHeight();
  post({ type: "vantage:ready", version: VERSION });
  liveStatus();
}

start();
