// Temporary download files (NAME.<pid>-<random>.part) removed when the process ends mid-download:
// on exit, and on SIGINT, SIGTERM or SIGHUP, which would otherwise end it without running any cleanup.
// The handlers are installed only while a download is being written.
import { unlinkSync } from 'node:fs';

const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Remove `path` if the process ends before `untrackTemp(path)`. */
export function trackTemp(path: string): void {
  if (live.size === 0) install();
  live.add(path);
}

export function untrackTemp(path: string): void {
  if (live.delete(path) && live.size === 0) uninstall();
}

function removeAll(): void {
  for (const p of live) {
    try { unlinkSync(p); } catch { /* already gone */ }
  }
  live.clear();
}

/** Clean up, then let the signal do what it would have done: end the process unless someone else listens. */
function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', removeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', removeAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}
