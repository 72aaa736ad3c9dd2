import { spawn } from 'node:child_process';

/**
 * Promise-based wrapper around child_process.spawn.
 * spawn (not exec) is used so arguments are never interpreted by a shell
 * and output is not capped by exec's maxBuffer.
 *
 * @param {string} command
 * @param {string[]} [args]
 * @param {{ cwd?: string, env?: object, timeoutMs?: number, input?: string }} [opts]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export function run(command, args = [], opts = {}) {
  const { cwd, env, timeoutMs = 30_000, input } = opts;

  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    const out = [];
    const err = [];
    child.stdout.on('data', (buf) => out.push(buf));
    child.stderr.on('data', (buf) => err.push(buf));

    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${command} timed out after ${timeoutMs}ms`));
    }, timeoutMs);

    // 'error' fires when the binary cannot be started at all (e.g. ENOENT).
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });

    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code === 0) resolve(result);
      else reject(Object.assign(new Error(`${command} exited with ${result.code}`), result));
    });

    if (input !== undefined) child.stdin.write(input);
    child.stdin.end();
  });
}

/** Current git branch name, or null when not inside a repository. */
export async function currentBranch(cwd = process.cwd()) {
  try {
    const { stdout } = await run('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd });
    return stdout.trim();
  } catch {
    return null;
  }
}

/** Pipe text through an arbitrary filter program, e.g. sortLines -> `sort`. */
export async function sortLines(text) {
  const { stdout } = await run('sort', [], { input: text });
  return stdout;
}
