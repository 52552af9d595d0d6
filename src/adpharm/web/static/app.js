// adpharm pages: plain JavaScript, no build step, nothing fetched from the network but this server.
"use strict";

function $(id) { return document.getElementById(id); }

function formJSON(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    const el = form.elements[k];
    out[k] = el && el.type === "number" ? Number(v) : v;
  }
  return out;
}

async function api(method, url, body) {
  const res = await fetch(url, {method, headers: body ? {"Content-Type": "application/json"} : {},
                                body: body ? JSON.stringify(body) : undefined});
  let data = null;
  try { data = await res.json(); } catch (e) { data = {error: "the server sent no JSON"}; }
  if (!res.ok) { throw new Error(data && data.error ? data.error : `HTTP ${res.status}`); }
  return data;
}

function bandTraces(x, band, name, colour, yTitle) {
  const traces = [];
  if (band.p5) {
    traces.push({x, y: band.p95, mode: "lines", line: {width: 0}, hoverinfo: "skip", showlegend: false});
    traces.push({x, y: band.p5, mode: "lines", line: {width: 0}, fill: "tonexty", fillcolor: colour + "33",
                 name: name + " 5–95 %", hoverinfo: "skip"});
  }
  traces.push({x, y: band.median, mode: "lines", line: {color: colour}, name: name + (band.p5 ? " (median)" : "")});
  return traces;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

function titled(layout) {
  // plotly.js 3 takes titles as {text: ...}
  const out = Object.assign({}, layout);
  if (typeof out.title === "string") out.title = {text: out.title};
  for (const ax of ["xaxis", "yaxis"]) {
    if (out[ax] && typeof out[ax].title === "string") out[ax] = Object.assign({}, out[ax], {title: {text: out[ax].title}});
  }
  return out;
}

function plot(id, traces, layout) {
  if (!window.Plotly) { $(id).textContent = "Plotly is not available."; return; }
  Plotly.newPlot(id, traces, Object.assign({margin: {t: 40, r: 20}, height: 340}, titled(layout)),
                 {responsive: true, displaylogo: false});
}

function logRange(bands) {
  // four decades below the highest concentration: the terminal tail is not useful beyond that
  let top = 0;
  for (const b of bands) for (const v of (b.p95 || b.median)) if (v > top) top = v;
  if (!(top > 0)) return undefined;
  const hi = Math.log10(top) + 0.2;
  return [hi - 4.2, hi];
}

// ---- drugs: filter the table as you type
const search = $("drug-search");
if (search) {
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    for (const tr of document.querySelectorAll("#drug-table tbody tr[data-text]")) {
      tr.hidden = q !== "" && !tr.dataset.text.includes(q);
    }
  });
}

// ---- simulate
const simForm = $("sim-form");
if (simForm) {
  simForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("sim-status");
    status.className = ""; status.textContent = "Simulating…"; $("sim-run").disabled = true;
    $("sim-warnings").innerHTML = "";
    try {
      const d = await api("POST", "/api/simulate", formJSON(simForm));
      const conc = [], occ = [];
      Object.entries(d.pk.conc_ng_per_ml).forEach(([a, band], i) =>
        conc.push(...bandTraces(d.pk.time_h, band, a, COLOURS[i % COLOURS.length])));
      Object.entries(d.occupancy.percent).forEach(([t, band], i) =>
        occ.push(...bandTraces(d.occupancy.time_h, band, t, COLOURS[i % COLOURS.length])));
      plot("plot-conc", conc, {title: `${d.drug}: ${d.regimen}`, xaxis: {title: "time (h)"},
                               yaxis: {title: "plasma concentration (ng/mL)", type: "log",
                                       range: logRange(Object.values(d.pk.conc_ng_per_ml))}});
      plot("plot-occ", occ, {title: "Receptor / transporter occupancy", xaxis: {title: "time (h)"},
                             yaxis: {title: "occupancy (%)", range: [0, 100]}});
      plot("plot-madrs", [...bandTraces(d.madrs.day, d.madrs.drug, "drug", COLOURS[0]),
                          ...bandTraces(d.madrs.day, d.madrs.placebo, "placebo", COLOURS[3])],
           {title: "Simulated MADRS", xaxis: {title: "day"}, yaxis: {title: "MADRS"}});
      for (const w of d.warnings) { const li = document.createElement("li"); li.textContent = w; $("sim-warnings").appendChild(li); }
      const onset = d.madrs.onset_day === null ? "not reached" : `day ${d.madrs.onset_day}`;
      status.textContent = `Done: ${d.n} virtual patients, seed ${d.seed}; onset of separation from placebo: ${onset}.`;
      $("sim-provenance").textContent = `Simulated, not observed: ${d.provenance.mechanism.model}; PK model ${d.provenance.pk.model_version}; seed ${d.seed}. ${d.provenance.notice}`;
    } catch (e) {
      status.className = "error"; status.textContent = e.message;
    } finally { $("sim-run").disabled = false; }
  });
}

// ---- therapeutic drug monitoring
const tdmForm = $("tdm-form");
if (tdmForm) {
  tdmForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("tdm-status");
    status.className = ""; status.textContent = "Simulating the population…"; $("tdm-run").disabled = true;
    const body = formJSON(tdmForm);
    for (const k of ["measured", "sample_h", "since_start_h"]) { if (tdmForm.elements[k].value === "") { delete body[k]; } }
    try {
      const d = await api("POST", "/api/pk/tdm", body);
      $("tdm-text").textContent = d.text + (d.warnings.length ? "\n" + d.warnings.join("\n") : "");
      $("tdm-figure").innerHTML = d.svg;
      status.textContent = `Simulated, not observed: ${d.provenance.model_version}; seed ${d.provenance.seed}. ${d.provenance.notice}`;
    } catch (e) {
      status.className = "error"; status.textContent = e.message;
    } finally { $("tdm-run").disabled = false; }
  });
}

// ---- trials
const trialForm = $("trial-form");
if (trialForm) {
  trialForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("trial-status");
    status.className = ""; status.textContent = "Simulating the trial…"; $("trial-run").disabled = true;
    try {
      const d = await api("POST", "/api/trials/simulate", formJSON(trialForm));
      const traces = Object.entries(d.series).map(([arm, s], i) =>
        ({x: s.day, y: s.madrs_mean, mode: "lines+markers", name: arm, line: {color: COLOURS[i % COLOURS.length]}}));
      plot("plot-trial", traces, {title: `${d.protocol}: simulated, seed ${d.provenance.seed}`,
                                  xaxis: {title: "day after randomisation"}, yaxis: {title: "MADRS (mean, observed)"}});
      const t = $("trial-table");
      t.innerHTML = "<thead><tr><th>arm</th><th>visit</th><th>n</th><th>MADRS</th><th>change</th><th>response</th><th>remission</th></tr></thead>";
      const body = document.createElement("tbody");
      for (const r of d.summary) {
        const tr = document.createElement("tr");
        for (const v of [r.arm, r.visit, r.n, r.madrs_mean, r.change_mean, r.response_rate, r.remission_rate]) {
          const td = document.createElement("td");
          td.textContent = typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : (v === null ? "–" : v);
          tr.appendChild(td);
        }
        body.appendChild(tr);
      }
      t.appendChild(body);
      status.textContent = `Done: ${d.provenance.randomised} randomised (${d.provenance.model}).`;
    } catch (e) {
      status.className = "error"; status.textContent = e.message;
    } finally { $("trial-run").disabled = false; }
  });

  let jobId = null;
  const powerStatus = $("power-status"), bar = $("power-progress"), cancel = $("power-cancel");
  async function poll() {
    if (!jobId) return;
    try {
      const j = await api("GET", `/api/jobs/${jobId}`);
      bar.value = j.fraction;
      if (j.state === "running" || j.state === "queued") {
        powerStatus.textContent = `Running: ${j.done} of ${j.total || "?"} replicate trials…`;
        setTimeout(poll, 400);
        return;
      }
      cancel.disabled = true; $("power-run").disabled = false;
      if (j.state === "done") {
        const r = j.result;
        powerStatus.textContent = `Power ${(100 * r.power).toFixed(1)} % [${(100 * r.ci_lb).toFixed(1)}, ${(100 * r.ci_ub).toFixed(1)}] ` +
          `with ${r.n_per_arm} per arm, ${r.reps} replicates, seed ${r.provenance.seed} (${r.provenance.model}).`;
      } else if (j.state === "cancelled") {
        powerStatus.textContent = `Cancelled after ${j.done} replicate trials.`;
      } else {
        powerStatus.className = "error"; powerStatus.textContent = j.error || "the job failed";
      }
      jobId = null;
    } catch (e) { powerStatus.className = "error"; powerStatus.textContent = e.message; }
  }
  $("power-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    powerStatus.className = ""; powerStatus.textContent = "Starting…"; bar.value = 0;
    const body = Object.assign(formJSON(trialForm), {reps: Number($("power-reps").value)});
    try {
      const j = await api("POST", "/api/jobs/power", body);
      jobId = j.id; cancel.disabled = false; $("power-run").disabled = true;
      setTimeout(poll, 300);
    } catch (e) { powerStatus.className = "error"; powerStatus.textContent = e.message; }
  });
  cancel.addEventListener("click", async () => {
    if (!jobId) return;
    try { await api("DELETE", `/api/jobs/${jobId}`); powerStatus.textContent = "Cancelling…"; }
    catch (e) { powerStatus.className = "error"; powerStatus.textContent = e.message; }
  });
}
