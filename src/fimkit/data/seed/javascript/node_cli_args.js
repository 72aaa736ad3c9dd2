#!/usr/bin/env node
/**
 * Minimal argv parser without dependencies.
 * Supports: --flag, --key=value, --key value, -abc (short flag bundles),
 * --no-flag (negation) and `--` to stop option parsing.
 */

export function parseArgs(argv, { booleans = [], aliases = {} } = {}) {
  const flags = {};
  const positional = [];
  const isBool = (name) => booleans.includes(name);
  const canonical = (name) => aliases[name] ?? name;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];

    if (token === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }

    if (token.startsWith('--')) {
      const [rawName, inlineValue] = token.slice(2).split(/=(.*)/s, 2);
      if (rawName.startsWith('no-') && inlineValue === undefined) {
        flags[canonical(rawName.slice(3))] = false;
        continue;
      }
      const name = canonical(rawName);
      if (inlineValue !== undefined) {
        flags[name] = inlineValue;
      } else if (!isBool(name) && i + 1 < argv.length && !argv[i + 1].startsWith('-')) {
        flags[name] = argv[++i];
      } else {
        flags[name] = true;
      }
      continue;
    }

    if (token.startsWith('-') && token.length > 1) {
      // "-vx" is treated as two boolean short flags.
      for (const ch of token.slice(1)) flags[canonical(ch)] = true;
      continue;
    }

    positional.push(token);
  }

  return { flags, positional };
}

const USAGE = `usage: deploy [--env NAME] [--dry-run] [-v] <service...>`;

function main() {
  const { flags, positional } = parseArgs(process.argv.slice(2), {
    booleans: ['dry-run', 'verbose', 'help'],
    aliases: { v: 'verbose', h: 'help', e: 'env' },
  });

  if (flags.help || positional.length === 0) {
    console.log(USAGE);
    process.exit(flags.help ? 0 : 2);
  }

  const env = flags.env ?? 'staging';
  for (const service of positional) {
    const prefix = flags['dry-run'] ? '[dry-run] ' : '';
    console.log(`${prefix}deploying ${service} to ${env}`);
    if (flags.verbose) console.log(`  target: https://${env}.example.com/${service}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
