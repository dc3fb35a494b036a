/** Types of transfer.mjs (plain JavaScript, run without a build step). */

import type { FlowKind } from './generate.mjs';

export type TransferKind = Exclude<FlowKind, 'gui'>;

export interface TransferFile {
  file: string;
  packets: number;
  bytes: number;
  firstTs: number;
}

export interface TransferManifest {
  generator: string;
  profile: 'transfer';
  seed: number;
  files: string[];
  filesDetail: TransferFile[];
  fileBytes: number;
  ipBytes: number;
  packets: number;
  flows: { total: number } & Record<TransferKind, number>;
  packetsByKind: Record<TransferKind, number>;
  dataPacketsByKind: Record<TransferKind, number>;
  ipv6: { flows: number; packets: number };
  vlan: { id: number; flows: number; frames: number };
  offload: { frames: number; maxIpPacketBytes: number; maxFrameBytes: number };
  models: { count: number; bytes: number; overOneMB: number; largest: number };
  firstTs: number;
  lastTs: number;
  durationSeconds: number;
  maxConcurrentActors: number;
  inventory: { node: string[]; researcher: string[]; vpnserver: string[]; nodes: string[]; nodes6: string[]; scanners: string[] };
  netmatrixArgs: string[];
  expected: Record<TransferKind, { rule: string | null; verdict: string; service?: string; findings?: string[] }>;
  hostsFile?: string;
}

export interface TransferOptions {
  packets?: number;
  flows?: number;
  files?: number;
  seed?: number;
  /** DIR/PREFIX of the set (a trailing .pcap is dropped). */
  out: string;
  writeSidecars?: boolean;
  log?: (line: string) => void;
}

export function generateTransferWorkload(opts: TransferOptions): TransferManifest;
export function defaultTransferFlows(packets: number): number;
export function ip6Bytes(text: string): Uint8Array;

export const TRANSFER_NETWORK: {
  researcher: string;
  researcher6: string;
  vpnserver: string;
  vpnserver6: string;
  nodeCidr: string;
  nodeCidr6: string;
  nodeCount: number;
  node: (i: number) => string;
  node6: (i: number) => string;
  localNodes: number;
  vlan: number;
  inVlan: (i: number) => boolean;
  scanners: string[];
  scanners6: string[];
};
export const TRANSFER_INVENTORY_FLAGS: string[];
export const TRANSFER_PORTS: { grpc: number; wireguard: number };
