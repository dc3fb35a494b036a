import { afterEach, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { isBuildStep } from '../../src/support/build-step.js';

const saved = process.argv;
afterEach(() => {
  process.argv = saved;
});

describe('isBuildStep (rules-cache.js and code-cache.js run by the build)', () => {
  const step = '/pkg/dist/policy/rules-cache.js';
  const url = pathToFileURL(step).href;

  it('is true only for that file run with --write', () => {
    process.argv = ['node', step, '--write'];
    expect(isBuildStep(url, 'rules-cache.js')).toBe(true);
    process.argv = ['node', step];
    expect(isBuildStep(url, 'rules-cache.js')).toBe(false);
    process.argv = ['node', '/pkg/dist/cli/main.js', '--write'];
    expect(isBuildStep(url, 'rules-cache.js')).toBe(false);
  });

  it('is false inside the bundle, whose module URL is argv[1] itself (`netmatrix --write`)', () => {
    const bundle = '/pkg/dist/bin/main.cjs';
    process.argv = ['node', bundle, '--write'];
    expect(isBuildStep(pathToFileURL(bundle).href, 'rules-cache.js')).toBe(false);
    expect(isBuildStep(pathToFileURL(bundle).href, 'code-cache.js')).toBe(false);
  });
});
