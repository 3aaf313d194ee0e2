// Vantage dashboard: one country's crowd picture from the collector's public API
// (/api/v1/aggregates, /api/v1/events, /api/v1/targets). Plain JavaScript, no build step and
// no WebAssembly, so the self-test page stays small. Refreshes itself every minute while open.
// Link parameters: ?country=PK&since=2023-12-17&until=2023-12-18 (a fixed period) or
// ?country=PK&days=7 (the last days).
"use strict";

(function () {
  const REFRESH_MS = 60000;
  const CODES = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split(" ");
  // Failing share steps: upper bound, fill, and the words for the legend.
  const STEPS = [
    [0.1, "#e4efe7", "under 10 %"],
    [0.25, "#fbe3b5", "10–25 %"],
    [0.5, "#f4a261", "25–50 %"],
    [0.75, "#d1495b", "50–75 %"],
    [1.01, "#7a1b2e", "75 % or more"],
  ];
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const regionNames = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
  const countryName = (cc) => (regionNames && regionNames.of(cc)) || cc;
  const pct = (x) => Math.round(x * 100) + " %";
  const num = (n) => Number(n).toLocaleString("en");
  let names = {};
  let timer = null;

  /** Element helper: tag, attributes, children (strings become text). */
  function el(tag, attrs, ...children) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) e.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
    }
    return e;
  }

  const iso = (secs) => new Date(secs * 1000).toISOString().slice(0, 16) + ":00Z";
  const parseTime = (s) => {
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? s + "T00:00:00Z" : s);
    return Number.isNaN(t) ? null : Math.floor(t / 1000);
  };
  const when = (s) => s.replace("T", " ").replace(/:00Z$/, " UTC");

  /** What to show: country and period from the form and the link. */
  function choice() {
    const params = new URLSearchParams(location.search);
    const country = $("country").value || "PK";
    let since, until, live;
    if ($("period").value === "custom" && params.get("since")) {
      since = parseTime(params.get("since"));
      until = params.get("until") ? parseTime(params.get("until")) : Math.floor(Date.now() / 1000);
      live = !params.get("until");
    } else {
      const days = Number($("period").value) || 7;
      until = Math.floor(Date.now() / 60000) * 60;
      since = until - days * 86400;
      live = true;
    }
    const hours = (until - since) / 3600;
    const grain = hours <= 8 * 24 ? "hour" : "day";
    const step = grain === "hour" ? 3600 : 86400;
    since = Math.floor(since / step) * step;
    return { country, since, until, grain, step, live };
  }

  async function getJson(url) {
    const res = await fetch(url, { headers: { accept: "application/json" } });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.detail) || url + ": " + res.status);
    return body;
  }

  const exportUrl = (country, since, until, format) =>
    "/api/v1/export?" + new URLSearchParams({ country, since: iso(since), until: iso(until), format: format || "jsonl" });

  const share = (c) => (c.decided > 0 ? c.disrupted / c.decided : null);
  const stepOf = (s) => STEPS.find(([upper]) => s < upper);

  function legend(minReports) {
    const items = STEPS.map(([, fill, words]) =>
      el("li", {}, el("span", { class: "swatch", style: "background:" + fill }, fill === STEPS[3][1] || fill === STEPS[4][1] ? "×" : ""), words));
    items.push(el("li", {}, el("span", { class: "swatch withheld" }), "not enough reports (under " + minReports + ")"));
    items.push(el("li", {}, el("span", { class: "swatch empty" }), "no reports"));
    $("legend").replaceChildren(el("ul", { "aria-label": "Legend" }, items));
  }

  /** The heatmap: rows are platforms, columns the period's hours or days. */
  function heatmap(view, cells, minReports) {
    const byKey = new Map(cells.map((c) => [c.target + "|" + c.start, c]));
    const targets = [...new Set(cells.map((c) => c.target))].sort((a, b) => {
      const ca = cells.find((c) => c.target === a && c.control), cb = cells.find((c) => c.target === b && c.control);
      return (ca ? 1 : 0) - (cb ? 1 : 0) || (names[a] || a).localeCompare(names[b] || b);
    });
    const columns = [];
    for (let t = view.since; t < view.until; t += view.step) columns.push(t);
    const box = $("heatmap");
    if (!targets.length) {
      box.replaceChildren(el("p", {}, "No reports from " + countryName(view.country) + " in this period."));
      $("heat-table").replaceChildren();
      return [];
    }
    const labelW = 210, top = 8, rowH = 26, axisH = 46;
    const width = Math.max(480, Math.min(box.clientWidth || 880, 1100));
    const cellW = Math.max(3, (width - labelW - 8) / columns.length);
    const height = top + targets.length * rowH + axisH;
    const svg = el("svg:svg", {
      viewBox: "0 0 " + width + " " + height, width: "100%", tabindex: "0", role: "application",
      "aria-label": "Failing share of " + targets.length + " platforms over " + columns.length + " " + view.grain +
        "s; arrow keys move between squares", "aria-describedby": "readout",
    });
    svg.append(el("svg:defs", {}, el("svg:pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      el("svg:rect", { width: 6, height: 6, fill: "#f2f3f5" }), el("svg:line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8a93a3", "stroke-width": 2 }))));
    const grid = [];
    targets.forEach((target, row) => {
      const y = top + row * rowH;
      svg.append(el("svg:text", { x: labelW - 8, y: y + rowH / 2 + 5, "text-anchor": "end", class: "axis" }, names[target] || target));
      grid.push(columns.map((start, col) => {
        const x = labelW + col * cellW;
        const c = byKey.get(target + "|" + iso(start));
        const end = start + view.step;
        let state = "empty", fill = "#fff", words, s = null;
        const span = view.grain === "hour" ? when(iso(start)) + "–" + iso(end).slice(11, 16) : iso(start).slice(0, 10);
        if (c && c.status) {
          state = "withheld";
          fill = "url(#hatch)";
          words = (names[target] || target) + ", " + span + ": not enough reports (under " + minReports + ")";
        } else if (c) {
          state = "counts";
          s = share(c);
          fill = s === null ? "#f2f3f5" : stepOf(s)[1];
          words = (names[target] || target) + ", " + span + ": " +
            (s === null ? "no decided measurements" : pct(s) + " failing (" + num(c.disrupted) + " of " + num(c.decided) + " decided)") +
            "; " + num(c.reports) + " reports, controls loaded in " + num(c.controls_loaded);
        } else {
          words = (names[target] || target) + ", " + span + ": no reports";
        }
        const g = el("svg:g", { "data-target": target, "data-start": iso(start), "data-state": state, "data-share": s === null ? null : s.toFixed(3), "data-reports": c && !c.status ? c.reports : null },
          el("svg:title", {}, words),
          el("svg:rect", { x: x + 0.5, y: y + 1, width: Math.max(1, cellW - 1), height: rowH - 2, fill, stroke: state === "empty" ? "#d3d8e1" : "none" }));
        if (s !== null && s >= 0.5 && cellW >= 7) {
          g.append(el("svg:text", { x: x + cellW / 2, y: y + rowH / 2 + 4, "text-anchor": "middle", class: "mark" }, "×"));
        }
        svg.append(g);
        return { g, words, x, y, w: cellW };
      }));
    });
    // Time axis: about ten labels, dates at midnight.
    const every = Math.max(1, Math.ceil(columns.length / 10));
    const axisY = top + targets.length * rowH;
    columns.forEach((start, col) => {
      if (col % every) return;
      const x = labelW + col * cellW;
      const t = iso(start);
      const label = view.grain === "hour" && (t.slice(11, 13) !== "00" || col === 0) && columns.length <= 48 ? t.slice(11, 16) : t.slice(5, 10) + (view.grain === "hour" ? " " + t.slice(11, 16) : "");
      svg.append(el("svg:line", { x1: x, x2: x, y1: axisY, y2: axisY + 5, stroke: "#4f5869" }));
      svg.append(el("svg:text", { x, y: axisY + 18, class: "axis" }, label));
    });
    svg.append(el("svg:text", { x: labelW, y: axisY + 38, class: "axis title" }, "Time (UTC), one square per " + view.grain));
    const focus = el("svg:rect", { class: "focus", width: 0, height: 0, fill: "none" });
    svg.append(focus);
    let at = [0, 0];
    const show = () => {
      const cell = grid[at[0]][at[1]];
      focus.setAttribute("x", cell.x);
      focus.setAttribute("y", cell.y);
      focus.setAttribute("width", Math.max(3, cell.w));
      focus.setAttribute("height", rowH);
      $("readout").textContent = cell.words;
    };
    svg.addEventListener("focus", show);
    svg.addEventListener("keydown", (e) => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [0, -1e6], End: [0, 1e6] };
      const m = moves[e.key];
      if (!m) return;
      e.preventDefault();
      at = [Math.min(grid.length - 1, Math.max(0, at[0] + m[0])), Math.min(columns.length - 1, Math.max(0, at[1] + m[1]))];
      show();
    });
    box.replaceChildren(svg);
    // The table: one row per platform and time with counts, for screen readers and copying.
    const rows = [];
    targets.forEach((target) => columns.forEach((start) => {
      const c = byKey.get(target + "|" + iso(start));
      if (!c) return;
      rows.push(el("tr", {}, el("th", { scope: "row" }, names[target] || target), el("td", {}, when(iso(start))),
        c.status ? el("td", { colspan: 3 }, "not enough reports") : [el("td", {}, share(c) === null ? "–" : pct(share(c))),
          el("td", {}, num(c.disrupted) + " of " + num(c.decided)), el("td", {}, num(c.reports))],
        el("td", {}, el("a", { href: exportUrl(view.country, start, start + view.step) }, "export"))));
    }));
    $("heat-table").replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ["platform", "from", "failing", "failing of decided", "reports", "data"].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows)));
    return cells;
  }

  function networks(view, cells) {
    const byAsn = new Map();
    for (const c of cells) {
      if (!byAsn.has(c.asn)) byAsn.set(c.asn, new Map());
      byAsn.get(c.asn).set(c.target, c);
    }
    const targets = [...new Set(cells.map((c) => c.target))].sort((a, b) => (names[a] || a).localeCompare(names[b] || b));
    if (!byAsn.size) {
      $("networks").replaceChildren(el("p", {}, "No network has reports in this period."));
      return;
    }
    const head = el("tr", {}, el("th", { scope: "col" }, "network"), targets.map((t) => el("th", { scope: "col" }, names[t] || t)));
    const body = [...byAsn.keys()].sort((a, b) => a - b).map((asn) => el("tr", { "data-asn": asn },
      el("th", { scope: "row" }, asn ? "AS" + asn : "unknown network"),
      targets.map((t) => {
        const c = byAsn.get(asn).get(t);
        if (!c) return el("td", { class: "none" }, "–");
        if (c.status) return el("td", { class: "withheld" }, "not enough reports");
        const s = share(c);
        return el("td", { class: s !== null && s >= 0.5 ? "high" : null },
          s === null ? "no decided" : pct(s), el("br"), el("small", {}, num(c.reports) + " reports"));
      })));
    $("networks").replaceChildren(el("table", { class: "by-network" }, el("thead", {}, head), el("tbody", {}, body)),
      el("p", { class: "hint" }, "The export is per country: ", el("a", { href: exportUrl(view.country, view.since, view.until) }, "this country's measurements for the period"), " (each line names its network, probe_asn)."));
  }

  function events(view, list) {
    const box = $("events");
    if (!list.length) {
      box.replaceChildren(el("li", { class: "none" }, "None found in this period."));
      return;
    }
    box.replaceChildren(...list.map((e) => {
      const end = e.end ? parseTime(e.end) : view.until;
      const places = e.kind === "outage" ? "in " + e.countries.length + " countries" : (e.networks.length ? "networks " + e.networks.map((n) => "AS" + n).join(", ") : "");
      return el("li", { class: "event " + e.kind, "data-testid": "event", "data-kind": e.kind, "data-start": e.start },
        el("p", { class: "summary" }, e.summary),
        el("p", { class: "facts" },
          el("span", { class: "kind" }, e.kind), " · ", when(e.start), " – ", e.end ? when(e.end) : "ongoing",
          places ? " · " + places : "", " · ",
          num(e.counts.reports) + " reports (" + num(e.counts.controls_loaded) + " with controls loading), " +
            num(e.counts.disrupted) + " of " + num(e.counts.measurements) + " measurements failing · severity " + e.severity.toFixed(1)),
        el("p", {}, el("a", { href: exportUrl(e.country || view.country, parseTime(e.start), end) }, "Measurements behind it (export)")));
    }));
  }

  async function load() {
    const view = choice();
    const q = (extra) => new URLSearchParams({ country: view.country, since: iso(view.since), until: iso(view.until), ...extra });
    $("status").classList.remove("error");
    try {
      const [agg, nets, own, outages] = await Promise.all([
        getJson("/api/v1/aggregates?" + q({ bucket: view.grain })),
        getJson("/api/v1/aggregates?" + q({ bucket: "total", asn: "each" })),
        getJson("/api/v1/events?" + q({})),
        getJson("/api/v1/events?" + new URLSearchParams({ kind: "outage", since: iso(view.since), until: iso(view.until) })),
      ]);
      $("min-reports").textContent = agg.min_reports;
      legend(agg.min_reports);
      const all = own.events.concat(outages.events.filter((e) => e.countries.includes(view.country)));
      events(view, all);
      heatmap(view, agg.cells, agg.min_reports);
      networks(view, nets.cells);
      // Every report measured every target: a network's most-measured target counts its reports.
      const perNetwork = new Map();
      for (const c of nets.cells) if (!c.status) perNetwork.set(c.asn, Math.max(perNetwork.get(c.asn) || 0, c.reports));
      const reports = [...perNetwork.values()].reduce((a, b) => a + b, 0);
      $("exports").replaceChildren("All measurements from " + countryName(view.country) + " in this period: ",
        el("a", { href: exportUrl(view.country, view.since, view.until) }, "JSON Lines"), " · ",
        el("a", { href: exportUrl(view.country, view.since, view.until, "csv") }, "CSV"),
        ". The API: /api/v1/aggregates, /api/v1/events.");
      $("status").textContent = countryName(view.country) + ", " + when(iso(view.since)) + " to " + when(iso(view.until)) +
        (reports ? " · " + num(reports) + " reports from networks with enough to show" : "") + " · " + all.length + " disruption(s) · updated " +
        new Date().toISOString().slice(11, 16) + " UTC" + (view.live ? ", refreshes every minute" : "");
      document.title = "Vantage — " + countryName(view.country);
    } catch (err) {
      $("status").classList.add("error");
      $("status").textContent = "Could not load the figures: " + err.message + ". Trying again in a minute.";
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(() => {
      if (!document.hidden) load();
    }, REFRESH_MS);
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    const want = (params.get("country") || "PK").toUpperCase();
    const options = CODES.map((cc) => [cc, countryName(cc)]).sort((a, b) => a[1].localeCompare(b[1]));
    $("country").replaceChildren(...options.map(([cc, name]) => el("option", { value: cc }, name + " (" + cc + ")")));
    $("country").value = CODES.includes(want) ? want : "PK";
    if (params.get("since")) {
      $("period").value = "custom";
      $("period").querySelector("[value=custom]").hidden = false;
    } else if (["1", "7", "30"].includes(params.get("days"))) {
      $("period").value = params.get("days");
    }
    try {
      const list = await getJson("/api/v1/targets");
      for (const t of list.targets || []) names[t.id] = t.name;
    } catch (_) {
      names = {};
    }
    $("controls").addEventListener("submit", (e) => {
      e.preventDefault();
      const p = new URLSearchParams({ country: $("country").value });
      if ($("period").value === "custom") {
        for (const k of ["since", "until"]) if (params.get(k)) p.set(k, params.get(k));
      } else {
        p.set("days", $("period").value);
      }
      history.replaceState(null, "", "?" + p);
      load();
    });
    await load();
    schedule();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
