// The parts of a self-contained HTML page that need nothing from Node: escaping text and data
// for HTML, and the pages' shared style. The run report (html.ts), the bench's page and the
// sweep report (src/sweep/report.ts, which may also run in a browser) are made of these.

/** Text for HTML content and attribute values: the five characters that could start markup or end a quoted value. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Data in a <script type="application/json">: the HTML parser ends a script at "</script"
 * and changes state at "<!--" whatever the type, so both are broken up with JSON escapes
 * that JSON.parse reads back unchanged ("<\/" is "</", "\u0021" is "!").
 */
export function jsonScript(id: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/<\//g, "<\\/").replace(/<!--/g, "<\\u0021--");
  return `<script type="application/json" id="${id}">${json}</script>`;
}

/** Library code inlined in a <script>: "</script" can only occur inside a string or regex there, where "<\/" means the same. */
export function scriptText(js: string): string {
  return js.replace(/<\/script/gi, "<\\/script");
}

/** The report pages' style: one look for the run report, the bench page and the sweep report. */
export const PAGE_CSS = `
:root { --fg: #1d232b; --muted: #5b6673; --line: #dde2e8; --bg: #f6f7f9; --good: #1f7a46; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 8px; }
.description, .note, footer { color: var(--muted); }
footer { margin-top: 32px; font-size: 12px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 10px; color: #fff; font-weight: 600; }
.badge.good { background: var(--good); }
.badge.bad { background: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
dl.inline { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 8px 0; }
dl.inline dt::after { content: ":"; }
dl.inline dd { margin-left: -14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 14px; }
.card, .box, .plot { background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.card { padding: 10px 16px; min-width: 150px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 12px; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.plot { margin: 0; padding: 12px; min-width: 0; }
.plot figcaption { font-weight: 600; margin-bottom: 6px; }
.chart { width: 100%; min-height: 200px; }
.nodata { color: var(--muted); font-style: italic; padding: 40px 0; text-align: center; }
.boxes { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.box { padding: 12px 16px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #eef1f4; font-weight: 600; }
.num { text-align: right; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
details.violation { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: 6px; padding: 6px 12px; margin: 8px 0; }
details.violation summary { cursor: pointer; font-weight: 600; }
details.violation pre { background: #f3f4f6; padding: 8px; overflow-x: auto; font-size: 12px; }
`;
