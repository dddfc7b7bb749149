/**
 * `pnpm docs:asyncapi`: writes the AsyncAPI document of every topic and message
 * (libs/contracts `asyncApiDocument()`) to docs/asyncapi.json. `--check` writes nothing
 * and exits 1 when the file is missing or out of date (for CI).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asyncApiDocument } from '@sitesaga/contracts';

const target = path.resolve(__dirname, '..', 'docs', 'asyncapi.json');
const text = `${JSON.stringify(asyncApiDocument(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
  if (current !== text) {
    console.error(`${path.relative(process.cwd(), target)} is out of date: run pnpm docs:asyncapi`);
    process.exit(1);
  }
  console.log(`${path.relative(process.cwd(), target)} is up to date`);
} else {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  const document = asyncApiDocument();
  console.log(`wrote ${path.relative(process.cwd(), target)}: ${Object.keys(document.channels).length} channels, ${Object.keys(document.components.messages).length} messages`);
}
