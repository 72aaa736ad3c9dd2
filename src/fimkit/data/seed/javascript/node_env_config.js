import { readFileSync, existsSync } from 'node:fs';

/**
 * Load settings from process.env (optionally seeded by a .env file) and
 * coerce them according to a declarative spec. Failing early at startup is
 * far cheaper than discovering a missing variable on the first request.
 */

const spec = {
  PORT: { type: 'int', default: 8080 },
  API_BASE_URL: { type: 'url', default: 'https://api.example.com' },
  DATABASE_URL: { type: 'string', required: true },
  ENABLE_CACHE: { type: 'bool', default: false },
  ALLOWED_ORIGINS: { type: 'list', default: [] },
};

const coercers = {
  string: (v) => v,
  int: (v) => {
    const n = Number.parseInt(v, 10);
    if (Number.isNaN(n)) throw new Error(`expected an integer, got "${v}"`);
    return n;
  },
  bool: (v) => ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()),
  url: (v) => new URL(v).toString(),
  list: (v) => v.split(',').map((s) => s.trim()).filter(Boolean),
};

/** Parse KEY=VALUE lines; existing environment variables take precedence. */
export function readDotenv(file = '.env') {
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (!match) continue;
    out[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export function loadConfig(env = { ...readDotenv(), ...process.env }) {
  const config = {};
  const problems = [];

  for (const [key, { type, default: fallback, required }] of Object.entries(spec)) {
    const raw = env[key];
    if (raw === undefined || raw === '') {
      if (required) problems.push(`${key} is required`);
      else config[key] = fallback;
      continue;
    }
    try {
      config[key] = coercers[type](raw);
    } catch (err) {
      problems.push(`${key}: ${err.message}`);
    }
  }

  if (problems.length) {
    throw new Error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(config);
}
