// `tide inspect --html`: the inspection as one self-contained page (inline CSS, no scripts, no
// network): the chosen head's attention, every head of its layer in small, and the logit lens as
// heatmaps, with details in hover titles.
import type { Inspection } from './inspect.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Colour for a value in [0, 1]: white to the hue at full strength. */
function fill(v: number, hue: number): string {
  return `hsl(${hue} 70% ${(100 - 62 * Math.min(Math.max(v, 0), 1)).toFixed(1)}%)`;
}

/** Cell style for a value in [0, 1]; text turns white on dark cells. */
const cell = (v: number, hue: number) => `background:${fill(v, hue)}${v > 0.65 ? ';color:#fff' : ''}`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d1d1f; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
p.note { color: #555; max-width: 60em; }
code { background: #f3f3f3; padding: 0 3px; margin-right: 4px; }
.scroll { overflow-x: auto; max-width: 100%; }
table.heat { border-collapse: collapse; font-size: 12px; }
table.heat td, table.heat th { border: 1px solid #e4e4e4; padding: 3px 5px; text-align: center; white-space: nowrap; }
table.heat th { background: #f6f6f6; font-weight: 600; }
table.heat th.key { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; }
table.att td { width: 30px; height: 22px; font-variant-numeric: tabular-nums; }
table.lens td { min-width: 60px; font-family: ui-monospace, monospace; }
.heads { display: flex; flex-wrap: wrap; gap: 14px; }
.heads figure { margin: 0; font-size: 12px; text-align: center; }
.heads figure.chosen svg { outline: 2px solid #c2410c; }
.scale { display: inline-block; width: 160px; height: 10px; vertical-align: middle; margin: 0 6px; }
`;

function attentionTable(r: Inspection): string {
  const head = r.tokens.map((tok, i) => `<th class="key" title="key ${i}">${i} ${esc(tok)}</th>`).join('');
  const rows = r.attention.map((row, t) => {
    const cells = row.map((w, i) => (i > t ? '<td></td>'
      : `<td style="${cell(w, 220)}" title="query ${t} ${esc(r.tokens[t])} → key ${i} ${esc(r.tokens[i])}: ${w.toFixed(4)}">${Math.round(w * 100)}</td>`));
    return `<tr><th title="query ${t}">${t} ${esc(r.tokens[t])}</th>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="heat att"><tr><th>query \\ key</th>${head}</tr>\n${rows.join('\n')}</table></div>`;
}

/** Every head of the layer as a small heatmap (one SVG each), the chosen head outlined. */
function headGrid(r: Inspection): string {
  const T = r.ids.length, px = Math.max(3, Math.min(12, Math.floor(180 / T)));
  const svgs = r.layerHeads.map((rows, h) => {
    const rects = rows.flatMap((row, t) => row.slice(0, t + 1).map((w, i) =>
      `<rect x="${i * px}" y="${t * px}" width="${px}" height="${px}" fill="${fill(w, 220)}"/>`));
    return `<figure${h === r.head ? ' class="chosen"' : ''}><svg width="${T * px}" height="${T * px}" role="img" aria-label="head ${h}">` +
      `<rect width="${T * px}" height="${T * px}" fill="#fff"/>${rects.join('')}</svg><figcaption>head ${h}</figcaption></figure>`;
  });
  return `<div class="heads">${svgs.join('\n')}</div>`;
}

function lensTable(r: Inspection): string {
  const head = r.tokens.map((tok, t) => `<th>${t} ${esc(tok)}</th>`).join('');
  const rows = r.lens.map((row) => {
    const cells = row.top.map((c, t) => {
      const title = `${row.name}, position ${t}: ` + c.map((x) => `${x.token} ${x.p.toFixed(3)}`).join(', ');
      return `<td style="${cell(c[0].p, 140)}" title="${esc(title)}">${esc(c[0].token)}</td>`;
    });
    return `<tr><th>${esc(row.name)}</th>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="heat lens"><tr><th>residual after</th>${head}</tr>\n${rows.join('\n')}</table></div>`;
}

/** The whole page, titled with the inspected model directory. */
export function inspectionHtml(r: Inspection): string {
  const scale = (hue: number) => `0<span class="scale" style="background:linear-gradient(to right, hsl(${hue} 70% 100%), hsl(${hue} 70% 38%))"></span>1`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tide inspect: ${esc(r.model)}</title>
<link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>
<h1>tide inspect: ${esc(r.model)}</h1>
<p>${r.ids.length} tokens: ${r.tokens.map((t, i) => `<code>${i} ${esc(t)}</code>`).join(' ')}</p>
<h2 id="attention">Attention weights, layer ${r.layer}, head ${r.head} (KV head ${r.kvHead})</h2>
<p class="note">Row <i>t</i> is how query position <i>t</i> spreads its attention over key positions 0..<i>t</i>
(softmax of q·k / √headDim after RoPE; each row sums to 1, shown in percent). ${scale(220)}</p>
${attentionTable(r)}
<h2 id="heads">Every head of layer ${r.layer}</h2>
<p class="note">The same weights for all ${r.layerHeads.length} query heads of the layer, an overview for choosing
<code>--head</code>; head ${r.head}, outlined, is the one above.</p>
${headGrid(r)}
<h2 id="lens">Logit lens</h2>
<p class="note">Each cell applies the final RMSNorm and the LM head to the residual stream after a layer and shows
the top token at that position; colour is its probability ${scale(140)}. The last row is the model's own prediction.
Hover a cell for the top ${r.lens[0]?.top[0]?.length ?? 0}.</p>
${lensTable(r)}
</body></html>
`;
}
