/** The command line in-process (src/cli/run.ts), its output collected: what a user would see, without a child process. */
import { run } from '../../src/cli/run.js';

export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdoutIsTTY: false, stderrIsTTY: false });
  return { code, stdout, stderr };
}
