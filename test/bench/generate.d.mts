/** Types of generate.mjs (plain JavaScript, run without a build step). */

export type FlowKind = 'grpc' | 'liveness' | 'secagg' | 'gui' | 'scan' | 'wireguard';

export interface WorkloadManifest {
  generator: string;
  seed: number;
  file: string;
  fileBytes: number;
  packets: number;
  flows: { total: number } & Record<FlowKind, number>;
  packetsByKind: Record<FlowKind, number>;
  firstTs: number;
  lastTs: number;
  durationSeconds: number;
  maxConcurrentActors: number;
  inventory: { node: string[]; researcher: string[]; vpnserver: string[]; nodes: string[]; scanners: string[] };
  netmatrixArgs: string[];
  expected: Record<FlowKind, { rule: string | null; verdict: string; service?: string; findings?: string[] }>;
  hostsFile?: string;
}

export interface GenerateOptions {
  packets?: number;
  flows?: number;
  seed?: number;
  out: string;
  writeSidecars?: boolean;
  log?: (line: string) => void;
}

export function generateWorkload(opts: GenerateOptions): WorkloadManifest;
export function defaultFlows(packets: number): number;

export const NETWORK: {
  researcher: string;
  vpnserver: string;
  nodeCidr: string;
  nodeCount: number;
  node: (i: number) => string;
  scanners: string[];
  localhost: string;
};
export const INVENTORY_FLAGS: string[];
export const PORTS: { grpc: number; secagg: number[]; wireguard: number; gui: number };

export { Rng } from '../helpers/random.mjs';
