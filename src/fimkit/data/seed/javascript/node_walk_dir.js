import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';

const DEFAULT_IGNORE = new Set(['node_modules', '.git', 'dist']);

/**
 * Recursively yield file paths under `root`.
 * Uses opendir so huge directories are streamed instead of read into memory.
 *
 * @param {string} root
 * @param {{ ignore?: Set<string>, extensions?: string[], followSymlinks?: boolean }} [options]
 * @returns {AsyncGenerator<string>}
 */
export async function* walk(root, options = {}) {
  const { ignore = DEFAULT_IGNORE, extensions, followSymlinks = false } = options;
  const dir = await opendir(root);

  for await (const entry of dir) {
    if (ignore.has(entry.name)) continue;
    const full = path.join(root, entry.name);

    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink() && followSymlinks) {
      // Dirent does not resolve links, so ask the filesystem what it points at.
      const target = await stat(full).catch(() => null);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }

    if (isDir) {
      yield* walk(full, options);
    } else if (isFile) {
      if (!extensions || extensions.includes(path.extname(entry.name))) {
        yield full;
      }
    }
  }
}

/**
 * Sum file sizes by extension, e.g. { '.js': 10240, '.md': 512 }.
 * @param {string} root
 */
export async function sizeByExtension(root) {
  const totals = {};
  for await (const file of walk(root)) {
    const { size } = await stat(file);
    const ext = path.extname(file) || '(none)';
    totals[ext] = (totals[ext] ?? 0) + size;
  }
  return totals;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2] ?? '.';
  const totals = await sizeByExtension(target);
  for (const [ext, bytes] of Object.entries(totals).sort((a, b) => b[1] - a[1])) {
    console.log(`${ext.padEnd(10)} ${(bytes / 1024).toFixed(1)} KiB`);
  }
}
