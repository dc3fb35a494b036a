/** Types of make-hostile.mjs (plain JavaScript, run without a build step). */
export const HOSTILE_SNI: string;
export const HOSTILE_ALPN: string[];
export const HOSTILE_TARGET: string;
export const HOSTILE_HOST: string;
/** Path of test/corpus-regressions/hostile-clienthello.pcap. */
export const FIXTURE: string;
export function clientHello(sni: string, alpn: string[]): Uint8Array;
export function httpRequest(target: string, host: string): Uint8Array;
/** The fixture's bytes (deterministic). */
export function buildHostileCapture(): Uint8Array;
