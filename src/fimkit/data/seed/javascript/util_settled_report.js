'use strict';

/**
 * Fan out to several independent sources and summarise what worked.
 * Promise.allSettled never rejects, so one failing mirror cannot hide
 * the successful ones.
 */

const MIRRORS = [
  'https://mirror-a.example.com/status.json',
  'https://mirror-b.example.com/status.json',
  'https://mirror-c.example.com/status.json',
];

/**
 * @param {Record<string, () => Promise<unknown>>} tasks named task factories
 * @returns {Promise<{ ok: Record<string, unknown>, failed: Record<string, string>, ratio: number }>}
 */
async function settleNamed(tasks) {
  const names = Object.keys(tasks);
  const outcomes = await Promise.allSettled(names.map((name) => tasks[name]()));

  const ok = {};
  const failed = {};
  outcomes.forEach((outcome, i) => {
    const name = names[i];
    if (outcome.status === 'fulfilled') {
      ok[name] = outcome.value;
    } else {
      const reason = outcome.reason;
      failed[name] = reason instanceof Error ? reason.message : String(reason);
    }
  });

  const ratio = names.length === 0 ? 1 : Object.keys(ok).length / names.length;
  return { ok, failed, ratio };
}

async function checkMirrors(urls = MIRRORS) {
  const tasks = Object.fromEntries(
    urls.map((url) => [
      new URL(url).hostname,
      async () => {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      },
    ]),
  );

  const report = await settleNamed(tasks);
  // Require a quorum rather than all mirrors: a single outage is normal.
  const healthy = report.ratio >= 2 / 3;
  return { healthy, ...report };
}

module.exports = { settleNamed, checkMirrors };
