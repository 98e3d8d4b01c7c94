// The real CLI as a child process, with an environment free of CPE_SIM_* settings and of
// jest's NODE_OPTIONS.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { repoRoot } from './harness.js';

/** This process's environment without CPE_SIM_* and NODE_OPTIONS. */
export const cliEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CPE_SIM_') && k !== 'NODE_OPTIONS'));

/** Start the CLI with `args` (and `env` added to cliEnv()); killed (SIGKILL) after timeoutMs when given. */
export function spawnCli(args: string[], timeoutMs?: number, env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [`${repoRoot}dist/src/cli/main.js`, ...args], { env: { ...cliEnv(), ...env }, cwd: repoRoot, ...(timeoutMs !== undefined ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}) });
}

/** Run the CLI (bounded: killed after timeoutMs); resolves with its exit and output. */
export function runCli(args: string[], timeoutMs = 40_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawnCli(args, timeoutMs, env);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
