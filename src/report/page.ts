// What report.html and the live page share: escaping, uPlot read from node_modules at
// render time (so the pages open with no network), and the page frame.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_JS, PAGE_CSS } from './client.js';

const require = createRequire(import.meta.url);

let uplot: { js: string; css: string } | undefined;

/** uPlot's browser build and stylesheet, read once from the installed package. */
export function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const read = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
    uplot = { js: read('uPlot.iife.min.js'), css: read('uPlot.min.css') };
  }
  return uplot;
}

/** Text for HTML content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON to embed in a <script type="application/json">: no `<` can end the element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A script's text inlined: `</script` inside it would end the element early. */
function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1');
}

/**
 * A whole page: styles and scripts inlined, and a Content-Security-Policy that lets it
 * load nothing from anywhere (`connect` adds what the live page's EventSource may reach).
 */
export function page(opts: { title: string; header: string; body: string; script: string; connect?: string }): string {
  const { js, css } = uplotAssets();
  const csp = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ${opts.connect ?? "'none'"}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${esc(opts.title)}</title>
<style>${css.replace(/<\/(style)/gi, '<\\/$1')}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
${opts.header}
<main>
${opts.body}
</main>
<script>${inlineScript(js)}</script>
<script>${inlineScript(CLIENT_JS)}</script>
<script>${inlineScript(opts.script)}</script>
</body>
</html>
`;
}
