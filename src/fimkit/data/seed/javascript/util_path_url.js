'use strict';

const path = require('node:path');
const { pathToFileURL, fileURLToPath } = require('node:url');

/**
 * Resolve `target` against `base` and refuse anything that escapes `base`.
 * Useful before serving user-supplied paths from a static directory.
 */
function safeJoin(base, target) {
  const root = path.resolve(base);
  const resolved = path.resolve(root, '.' + path.sep + target);
  const rel = path.relative(root, resolved);
  if (rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) {
    throw new Error(`Path escapes base directory: ${target}`);
  }
  return resolved;
}

/** Replace the extension: withExt('a/b.test.ts', '.js') -> 'a/b.test.js' */
function withExt(file, ext) {
  const { dir, name } = path.parse(file);
  return path.join(dir, name + ext);
}

/** Always use forward slashes, e.g. for globs or manifest keys on Windows. */
function toPosix(p) {
  return p.split(path.sep).join('/');
}

/**
 * Build a URL from a base, path segments and a query object.
 * Segments are encoded individually so "a/b" stays one segment.
 * Undefined and null query values are dropped instead of becoming "undefined".
 */
function buildUrl(base, segments = [], query = {}) {
  const url = new URL(base);
  const extra = segments.map((s) => encodeURIComponent(String(s)));
  url.pathname = [url.pathname.replace(/\/+$/, ''), ...extra].join('/');
  for (const [key, value] of Object.entries(query)) {
    if (value == null) continue;
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, String(v)));
    else url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** Round-trip helpers so callers need not remember which module they live in. */
const toFileUrl = (p) => pathToFileURL(path.resolve(p)).href;
const fromFileUrl = (u) => fileURLToPath(u);

module.exports = { safeJoin, withExt, toPosix, buildUrl, toFileUrl, fromFileUrl };

// buildUrl('https://api.example.com/v1/', ['users', 'jo/e'], { tag: ['a', 'b'], page: 2 })
// -> 'https://api.example.com/v1/users/jo%2Fe?tag=a&tag=b&page=2'
