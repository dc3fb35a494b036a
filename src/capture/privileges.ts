/**
 * Giving up root once the capture handles are open, as `tcpdump -Z` does: a tool that parses hostile
 * packets must not do it as root.
 *
 * setuid() from root to another user clears every capability (permitted, effective and ambient) of
 * every thread: glibc makes each thread of the process change its ids, and the kernel drops the
 * capabilities of a thread whose ids all leave 0. The packet sockets already open keep working.
 * Supplementary groups are set to the user's own (initgroups), the group to the user's primary group.
 *
 * Started without root (for instance by systemd with an ambient CAP_NET_RAW), there is nothing to
 * drop this way: a non-root process cannot shed its capabilities for all threads from JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../model/errors.js';

/** The user the monitor becomes when started as root and no --user is given. */
export const DEFAULT_UNPRIVILEGED_USER = 'nobody';

export interface PrivilegeDrop {
  /** What was done: `dropped` to user/uid/gid, `kept-root` (--user root), `not-root` (nothing to drop). */
  outcome: 'dropped' | 'kept-root' | 'not-root';
  user: string;
  uid: number;
  gid: number;
}

interface Account {
  uid: number;
  gid: number;
  name: string;
}

/** The account through the system's name service (getent: /etc/passwd, LDAP, systemd's users...). */
function lookupAccount(user: string): Account {
  const r = spawnSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw new UsageError(`--user ${user}: cannot look the user up (getent: ${r.error.message})`);
  const line = r.stdout.split('\n').find((l) => l !== '');
  const fields = line?.split(':');
  if (r.status !== 0 || !fields || fields.length < 4) throw new UsageError(`--user ${user}: no such user`);
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new UsageError(`--user ${user}: unreadable passwd entry`);
  return { uid, gid, name: fields[0]! };
}

/**
 * Becomes `user` (default `nobody`) when running as root. Throws UsageError (exit 2) when the user
 * does not exist, when --user names another user while not root, or when the change did not take.
 */
export function dropPrivileges(user: string | undefined): PrivilegeDrop {
  // POSIX only; @types/node leaves initgroups out.
  const proc: NodeJS.Process & { initgroups?: (user: string, extraGroup: number) => void } = process;
  const uid = process.getuid?.();
  const euid = process.geteuid?.();
  if (uid === undefined || euid === undefined || !process.setuid || !process.setgid || !proc.initgroups) {
    return { outcome: 'not-root', user: user ?? '', uid: uid ?? -1, gid: process.getgid?.() ?? -1 };
  }
  if (uid !== 0 && euid !== 0) {
    if (user !== undefined) {
      const want = lookupAccount(user);
      if (want.uid !== uid) throw new UsageError(`--user ${user}: changing user needs root (running as uid ${uid})`);
    }
    return { outcome: 'not-root', user: user ?? '', uid, gid: process.getgid!() };
  }
  const account = lookupAccount(user ?? DEFAULT_UNPRIVILEGED_USER);
  if (account.uid === 0) return { outcome: 'kept-root', user: account.name, uid: 0, gid: process.getgid!() };
  try {
    proc.initgroups(account.name, account.gid);
    process.setgid(account.gid);
    process.setuid(account.uid);
  } catch (e) {
    throw new UsageError(`--user ${account.name}: cannot become uid ${account.uid}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (process.getuid!() !== account.uid || process.geteuid!() !== account.uid || process.getgid!() !== account.gid) {
    throw new UsageError(`--user ${account.name}: the change of user did not take`);
  }
  return { outcome: 'dropped', user: account.name, uid: account.uid, gid: account.gid };
}
