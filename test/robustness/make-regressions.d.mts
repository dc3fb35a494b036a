/** Types of make-regressions.mjs (plain JavaScript, run without a build step). */
export function resyncClaims(): Buffer;
export function manyInterfaces(): Buffer;
/** File name in test/corpus-regressions -> the (uncompressed) capture it holds. */
export const REGRESSIONS: Record<string, () => Buffer>;
export function gzip(bytes: Uint8Array): Buffer;
