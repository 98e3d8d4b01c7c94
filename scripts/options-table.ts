// Print the options table of README.md from src/config/options.ts (the one source).
import { OPTIONS, toEnv, toKebab } from '../src/config/options.js';

const rows = OPTIONS.map((o) => {
  const dflt = o.defaultText ?? (o.default === undefined ? '' : o.default === '' ? '""' : String(o.default));
  return `| \`--${toKebab(o.key)}\` | \`${toEnv(o.key)}\` | \`${o.key}\` | ${dflt} | ${o.describe} |`;
});
process.stdout.write(['| flag | env | YAML key | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n') + '\n');
