// Shared by the end-to-end suites: start a child process and wait for its port, and stop it again.
import { spawn, type ChildProcess } from 'node:child_process';

/** Spawn `cmd args`, then poll `ready()` until it resolves true; the child's output is kept for errors. */
export async function startProcess(cmd: string, args: string[], ready: () => Promise<boolean>, timeoutMs = 30_000,
                                   cwd?: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}: ${out}`);
    if (await ready().catch(() => false)) return { child, output: () => out };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${cmd} not ready after ${timeoutMs} ms: ${out}`);
}

/** SIGTERM, then wait for the exit (SIGKILL after 5 s). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}
