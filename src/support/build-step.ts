/**
 * The build's own steps (`node dist/policy/rules-cache.js --write`, `node dist/cli/code-cache.js
 * --write`, both run by `npm run build`) live in the modules they serve.
 */
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * True when the module at `moduleUrl` was run as `node .../fileName --write`: not imported, and not
 * inside the command's bundle (there import.meta.url is the bundle's, which is also argv[1]).
 */
export function isBuildStep(moduleUrl: string, fileName: string): boolean {
  const script = process.argv[1];
  return script !== undefined && basename(script) === fileName && moduleUrl === pathToFileURL(script).href && process.argv[2] === '--write';
}
