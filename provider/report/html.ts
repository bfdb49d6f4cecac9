import { createHash } from "node:crypto";
import type { AuditView, DriftItem } from "../model/index.js";
import { actorLabel, type FleetRow, type FleetSummary } from "../plan/fleet.js";
import { escapeHtml } from "../safety/escape.js";

// The fleet report: one self-contained HTML file (inline CSS, script and SVG; a Content-Security-
// Policy that lets the page load nothing from anywhere), opened offline. Pure: text in, text out.
// Every value from tokens.yaml or the tenant goes through escapeHtml, into text or quoted attributes
// only; the script reads the table the HTML already holds and never builds markup from values.

export interface ReportInput {
  rows: readonly FleetRow[];
  summary: FleetSummary;
  /** Every finding, notices included, each with what the audit log says of it. */
  drift: readonly DriftItem[];
  audit: AuditView;
  /** When the tenant was read (ISO), shown in the header. */
  generatedAt: string;
  /** The pool level per model below which the chart marks it low. */
  poolLowWater: number;
  source: string;
}

const e = escapeHtml;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d1d9}
main{padding:16px 24px}section{margin-bottom:24px}h2{font-size:16px;margin:0 0 8px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:120px}
.tile .value{font-size:26px;font-weight:600}.tile .label{color:#57606a}.tile.warn .value{color:#cf222e}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.controls{display:flex;gap:8px;margin-bottom:8px}input,select{font:inherit;padding:4px}.muted{color:#57606a}.drift{color:#cf222e}
`;

// Search (any cell, case-insensitive), a state filter, a drift-only switch and column sorting, over the rows the HTML holds.
const SCRIPT = `
(function(){
var table=document.getElementById("tokens");var body=table.tBodies[0];
var search=document.getElementById("search");var state=document.getElementById("state");var driftOnly=document.getElementById("drift-only");
var count=document.getElementById("shown");
function apply(){var q=search.value.trim().toLowerCase();var s=state.value;var n=0;
for(var i=0;i<body.rows.length;i++){var r=body.rows[i];
var ok=(q===""||r.textContent.toLowerCase().indexOf(q)>=0)&&(s===""||r.getAttribute("data-state")===s)&&(!driftOnly.checked||r.getAttribute("data-drift")==="yes");
r.hidden=!ok;if(ok)n++;}count.textContent=String(n);}
search.addEventListener("input",apply);state.addEventListener("change",apply);driftOnly.addEventListener("change",apply);
var heads=table.tHead.rows[0].cells;
for(var c=0;c<heads.length;c++){(function(col){heads[col].addEventListener("click",function(){
var dir=heads[col].getAttribute("aria-sort")==="ascending"?"descending":"ascending";
for(var k=0;k<heads.length;k++)heads[k].removeAttribute("aria-sort");heads[col].setAttribute("aria-sort",dir);
var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[col].textContent,y=b.cells[col].textContent;var d=x.localeCompare(y,"en",{numeric:true});return dir==="ascending"?d:-d;});
for(var j=0;j<rows.length;j++)body.appendChild(rows[j]);});})(c);}
apply();})();
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

export function renderReportHtml(input: ReportInput): string {
  const { summary } = input;
  const csp = `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; img-src data:; base-uri 'none'; form-action 'none'`;
  const poolTotal = Object.values(summary.poolLeft).reduce((a, b) => a + b, 0);
  const tiles: [string, string, number, boolean][] = [
    ["tokens", "tokens", summary.tokens, false],
    ["pool", "pool left", poolTotal, poolTotal < input.poolLowWater],
    ["assigned", "assigned", summary.assigned, false],
    ["activated", "activated", summary.activated, false],
    ["failed", "failed activations", summary.failedActivation, summary.failedActivation > 0],
    ["unmanaged", "unmanaged", summary.unmanaged, summary.unmanaged > 0],
    ["drift", "drifted tokens", summary.drift, summary.drift > 0],
    ["stale", "stale", summary.stale, summary.stale > 0],
  ];
  const states = [...new Set(input.rows.map((r) => r.liveStatus ?? r.desiredState ?? ""))].sort();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="referrer" content="no-referrer">
<title>entra-tokens fleet report</title>
<style>${STYLE}</style></head>
<body>
<header><h1>Hardware OATH tokens: fleet report</h1><p>${e(input.source)} · tenant read ${e(input.generatedAt.slice(0, 19).replace("T", " "))} UTC · ${input.audit.known ? `audit log since ${e(input.audit.since.slice(0, 10))}` : "audit log unreadable: actors unknown (grant AuditLog.Read.All)"}</p></header>
<main>
<section aria-label="summary"><div class="tiles">
${tiles.map(([id, label, value, warn]) => `<div class="tile${warn ? " warn" : ""}" data-tile="${id}"><div class="value">${value}</div><div class="label">${label}</div></div>`).join("\n")}
</div>
<p class="muted">Pool left per model: ${Object.keys(summary.poolLeft).length === 0 ? "none" : Object.entries(summary.poolLeft).map(([m, n]) => `${e(m)} ${n}`).join(" · ")}</p></section>
<section aria-label="charts"><h2>Charts</h2><div class="charts">
${barChart("Tokens by state", summary.byState)}
${barChart("Tokens by model", summary.byModel)}
${poolChart(summary, input.poolLowWater)}
</div></section>
<section aria-label="drift"><h2>Drift and notices (${input.drift.length})</h2>
${driftTable(input.drift, input.audit)}
</section>
<section aria-label="tokens"><h2>Every token (<span id="shown">${input.rows.length}</span> of ${input.rows.length} shown)</h2>
<div class="controls"><input id="search" type="search" placeholder="Search serial, user, model…" aria-label="search">
<select id="state" aria-label="state"><option value="">every state</option>${states.map((s) => `<option value="${e(s)}">${e(s)}</option>`).join("")}</select>
<label><input id="drift-only" type="checkbox"> drift only</label></div>
<table id="tokens"><thead><tr><th>serial</th><th>state</th><th>desired</th><th>holder</th><th>name</th><th>model</th><th>interval</th><th>last used</th><th>pool</th><th>managed</th><th>drift</th></tr></thead>
<tbody>
${input.rows.map(tokenRow).join("\n")}
</tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}

function tokenRow(r: FleetRow): string {
  const state = r.liveStatus ?? r.desiredState ?? "";
  const drift = [...r.drift, ...(r.staleDays === undefined || r.drift.includes("stale") ? [] : ["stale"])];
  return `<tr data-serial="${e(r.serial)}" data-state="${e(state)}" data-drift="${r.drift.length > 0 ? "yes" : "no"}"><td>${e(r.serial)}</td><td>${e(r.liveStatus ?? "not in tenant")}</td><td>${e(r.desiredState ?? "unmanaged")}</td><td>${e(r.upn ?? "")}</td><td>${e(r.holderName ?? "")}</td><td>${e(`${r.manufacturer} ${r.model}`)}</td><td>${r.timeIntervalInSeconds} s</td><td>${e(r.lastUsedDateTime?.slice(0, 10) ?? "")}</td><td>${r.pool ? "yes" : ""}</td><td>${r.managed ? "yes" : "no"}</td><td class="drift">${e(drift.join(", "))}</td></tr>`;
}

function driftTable(items: readonly DriftItem[], audit: AuditView): string {
  if (items.length === 0) return `<p>No drift: the tenant matches tokens.yaml.</p>`;
  const who = (i: DriftItem) => (!audit.known ? "unknown" : i.changedBy ? `${actorLabel(i.changedBy.actor)}` : "not in the audit log");
  const when = (i: DriftItem) => (i.changedBy ? `${i.changedBy.at.slice(0, 19).replace("T", " ")} UTC` : "");
  return `<table id="drift"><thead><tr><th>finding</th><th>serial</th><th>user</th><th>desired</th><th>live</th><th>who</th><th>when</th><th>activity</th><th>fix</th></tr></thead><tbody>
${items.map((i) => `<tr><td>${e(i.category)}</td><td>${e(i.serial)}</td><td>${e(i.user ?? "")}</td><td>${e(i.desired)}</td><td>${e(i.live)}</td><td>${e(who(i))}</td><td>${e(when(i))}</td><td>${e(i.changedBy?.activity ?? "")}</td><td>${e(i.fix)}</td></tr>`).join("\n")}
</tbody></table>`;
}

/** A horizontal bar chart, one bar per key, in inline SVG. */
function barChart(title: string, data: Record<string, number>): string {
  const entries = Object.entries(data).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rowHeight = 22;
  const height = 30 + entries.length * rowHeight;
  const bars = entries
    .map(([label, n], i) => {
      const y = 26 + i * rowHeight;
      const width = Math.round((n / max) * 180);
      return `<text x="4" y="${y + 13}" font-size="12">${e(label.length > 28 ? `${label.slice(0, 27)}…` : label)}</text><rect x="190" y="${y}" width="${width}" height="16" fill="#0969da"><title>${e(label)}: ${n}</title></rect><text x="${194 + width}" y="${y + 13}" font-size="12">${n}</text>`;
    })
    .join("");
  return `<figure class="chart" data-chart="${e(title)}"><svg xmlns="http://www.w3.org/2000/svg" width="420" height="${height}" role="img" aria-label="${e(title)}"><text x="4" y="16" font-size="13" font-weight="600">${e(title)}</text>${bars}</svg></figure>`;
}

/** Pool tokens left per model against the low-water mark (a red line; bars under it are red). */
function poolChart(summary: FleetSummary, lowWater: number): string {
  const models = Object.keys(summary.byModel).sort();
  const max = Math.max(lowWater, 1, ...models.map((m) => summary.poolLeft[m] ?? 0));
  const rowHeight = 22;
  const height = 44 + models.length * rowHeight;
  const scale = (n: number) => Math.round((n / max) * 180);
  const bars = models
    .map((m, i) => {
      const n = summary.poolLeft[m] ?? 0;
      const y = 26 + i * rowHeight;
      return `<text x="4" y="${y + 13}" font-size="12">${e(m.length > 28 ? `${m.slice(0, 27)}…` : m)}</text><rect x="190" y="${y}" width="${scale(n)}" height="16" fill="${n < lowWater ? "#cf222e" : "#1a7f37"}"><title>${e(m)}: ${n} left</title></rect><text x="${194 + scale(n)}" y="${y + 13}" font-size="12">${n}</text>`;
    })
    .join("");
  const x = 190 + scale(lowWater);
  return `<figure class="chart" data-chart="pool"><svg xmlns="http://www.w3.org/2000/svg" width="420" height="${height}" role="img" aria-label="Pool level per model"><text x="4" y="16" font-size="13" font-weight="600">Pool left per model (low water ${lowWater})</text>${bars}<line x1="${x}" x2="${x}" y1="22" y2="${height - 14}" stroke="#cf222e" stroke-dasharray="4 2"/><text x="${x - 2}" y="${height - 4}" font-size="11" fill="#cf222e" text-anchor="end">low water</text></svg></figure>`;
}
