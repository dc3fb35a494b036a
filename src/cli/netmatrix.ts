#!/usr/bin/env node
/**
 * The `netmatrix` command as shipped: dist/bin/netmatrix.cjs, beside the command's bundle
 * (dist/bin/main.cjs, made from cli/main.ts) and its V8 code cache (see code-cache.ts). Only
 * meaningful in dist/bin; `node dist/cli/main.js` runs the command unbundled.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCommand } from './code-cache.js';

loadCommand(dirname(fileURLToPath(import.meta.url)));
