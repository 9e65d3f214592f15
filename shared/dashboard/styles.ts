/** The dashboard's stylesheet, served from /api/dashboard/assets (no CDN, no web fonts: the system font stack). */
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f5f6f8; --panel: #ffffff; --ink: #1c2330; --muted: #6b7585; --line: #e4e7ec; --accent: #4f46e5;
  --pending: #8a94a6; --queued: #0ea5e9; --running: #6366f1; --completed: #16a34a; --failed: #dc2626; --cancelled: #a16207;
  --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08); --radius: 10px;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1420; --panel: #171d2b; --ink: #e6e9ef; --muted: #98a2b3; --line: #283042; --shadow: none; --accent: #818cf8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); font-weight: 400; }
header.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 16px; display: flex; align-items: center; gap: 10px; letter-spacing: .2px; }
.logo { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, var(--accent), #06b6d4); }
.live { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--pending); }
.live.ok .dot { background: var(--completed); animation: pulse 2s infinite; }
.live.error .dot { background: var(--failed); }
.live.error { color: var(--failed); }
@keyframes pulse { 0% { box-shadow: 0 0 0 0 rgba(22, 163, 74, .5); } 70% { box-shadow: 0 0 0 7px rgba(22, 163, 74, 0); } 100% { box-shadow: 0 0 0 0 rgba(22, 163, 74, 0); } }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; display: grid; gap: 18px; }
.cards { display: grid; grid-template-columns: repeat(8, minmax(0, 1fr)); gap: 12px; }
.card { background: var(--panel); border-radius: var(--radius); box-shadow: var(--shadow); border: 1px solid var(--line); padding: 12px 14px; border-top: 3px solid var(--line); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.card .value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card.s-pending { border-top-color: var(--pending); } .card.s-queued { border-top-color: var(--queued); } .card.s-running { border-top-color: var(--running); }
.card.s-completed { border-top-color: var(--completed); } .card.s-failed { border-top-color: var(--failed); } .card.s-cancelled { border-top-color: var(--cancelled); }
.card.queue { border-top-color: var(--accent); } .card.poison { border-top-color: #be185d; } .card.poison.alert .value { color: #be185d; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 18px; }
.grid2.even { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.compact th, .compact td { padding: 7px 6px; letter-spacing: 0; }
.panel { background: var(--panel); border-radius: var(--radius); box-shadow: var(--shadow); border: 1px solid var(--line); padding: 16px 18px; min-width: 0; }
.panel h2 { font-size: 15px; margin: 0 0 12px; font-weight: 650; }
.panel-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 10px; margin-bottom: 10px; }
.panel-head h2 { margin: 0; }
.chart svg { width: 100%; height: 180px; display: block; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 10px; }
.chart .bar-completed { fill: var(--completed); } .chart .bar-failed { fill: var(--failed); }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12px; margin-top: 6px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.legend .l-completed::before { background: var(--completed); } .legend .l-failed::before { background: var(--failed); }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.filters select, .filters input { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; }
.filters input { width: 300px; max-width: 100%; }
.filters input.invalid { border-color: var(--failed); }
button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid var(--line); background: var(--panel); color: var(--ink); padding: 5px 12px; }
button:hover { border-color: var(--accent); color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.primary:hover { color: #fff; filter: brightness(1.08); }
button.danger:hover { border-color: var(--failed); color: var(--failed); }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .5px; padding: 8px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 9px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr.job { cursor: pointer; }
tbody tr.job:hover { background: color-mix(in srgb, var(--accent) 6%, transparent); }
tbody tr.job.selected { background: color-mix(in srgb, var(--accent) 12%, transparent); }
.pill { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--pending); }
.pill.status-queued { background: var(--queued); } .pill.status-running { background: var(--running); } .pill.status-completed { background: var(--completed); }
.pill.status-failed { background: var(--failed); } .pill.status-cancelled { background: var(--cancelled); }
.progress { display: flex; align-items: center; gap: 8px; min-width: 180px; }
.bar { flex: 1; height: 8px; background: var(--line); border-radius: 999px; overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--running); border-radius: 999px; transition: width .6s ease; }
.bar.status-completed > div { background: var(--completed); } .bar.status-failed > div { background: var(--failed); } .bar.status-cancelled > div { background: var(--cancelled); }
.bar.status-running > div { background-image: linear-gradient(90deg, rgba(255,255,255,.0), rgba(255,255,255,.35), rgba(255,255,255,0)); background-size: 200% 100%; animation: shimmer 1.6s linear infinite; }
@keyframes shimmer { from { background-position: 200% 0; } to { background-position: -200% 0; } }
.progress .pct { width: 44px; text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); font-size: 12px; }
.empty { color: var(--muted); text-align: center; padding: 28px 0; }
.drawer { position: fixed; top: 0; right: 0; bottom: 0; width: min(640px, 100vw); background: var(--panel); border-left: 1px solid var(--line);
  box-shadow: -8px 0 24px rgba(16, 24, 40, .12); z-index: 10; overflow-y: auto; padding: 18px 22px 40px; }
.drawer[hidden] { display: none; }
.drawer-head { display: flex; align-items: flex-start; justify-content: space-between; gap: 12px; }
.drawer h3 { margin: 0; font-size: 18px; }
.drawer h4 { margin: 22px 0 8px; font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); }
.actions { display: flex; gap: 8px; margin: 14px 0 4px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px 16px; margin-top: 12px; }
.facts div { display: flex; flex-direction: column; }
.facts .k { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .5px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { background: var(--bg); border: 1px solid var(--line); border-radius: 999px; padding: 2px 10px; font-size: 12.5px; font-variant-numeric: tabular-nums; }
.errors { display: grid; gap: 8px; }
.error-box { border: 1px solid color-mix(in srgb, var(--failed) 40%, var(--line)); background: color-mix(in srgb, var(--failed) 6%, transparent); border-radius: 8px; padding: 8px 10px; white-space: pre-wrap; word-break: break-word; }
.error-box .where { color: var(--muted); font-size: 12px; display: block; margin-bottom: 2px; }
.events { list-style: none; margin: 0; padding: 0; border-left: 2px solid var(--line); }
.events li { padding: 4px 0 8px 14px; position: relative; }
.events li::before { content: ""; position: absolute; left: -6px; top: 9px; width: 10px; height: 10px; border-radius: 50%; background: var(--pending); }
.events li.to-running::before { background: var(--running); } .events li.to-queued::before { background: var(--queued); } .events li.to-completed::before { background: var(--completed); }
.events li.to-failed::before { background: var(--failed); } .events li.to-cancelled::before { background: var(--cancelled); }
.events .when { color: var(--muted); font-size: 12px; }
.stack { display: flex; height: 8px; border-radius: 999px; overflow: hidden; background: var(--line); min-width: 120px; }
.stack .done { background: var(--completed); } .stack .running { background: var(--running); } .stack .failed { background: var(--failed); }
.toast { position: fixed; left: 50%; bottom: 22px; transform: translateX(-50%); background: var(--ink); color: var(--panel); padding: 9px 16px; border-radius: 8px; z-index: 20; box-shadow: var(--shadow); }
.toast[hidden] { display: none; }
.notice { border: 1px solid var(--line); background: var(--panel); border-radius: var(--radius); padding: 16px 18px; }
@media (max-width: 1100px) { .cards { grid-template-columns: repeat(4, minmax(0, 1fr)); } .grid2 { grid-template-columns: 1fr; } }
@media (max-width: 560px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } main { padding: 14px; } header.top { padding: 10px 14px; } }
`;
