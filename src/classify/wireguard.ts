/**
 * WireGuard probe over one UDP payload (datagrams are whole: no need-more except for an empty payload).
 *
 * Message: type (1 byte, 1..4) + 3 reserved zero bytes, with exact lengths from the protocol:
 * initiation 148, response 92, cookie reply 64, transport data >= 32 (16-byte header + 16-byte
 * Poly1305 tag; a keepalive is exactly 32; the length need not be a multiple of 16).
 */
import type { ProbeResult, WireGuardInfo } from './probe.js';

export const WG_INITIATION_LEN = 148;
export const WG_RESPONSE_LEN = 92;
export const WG_COOKIE_REPLY_LEN = 64;
export const WG_TRANSPORT_MIN_LEN = 32;

const NO: { status: 'no' } = Object.freeze({ status: 'no' as const });
const NEED_MORE: { status: 'need-more' } = Object.freeze({ status: 'need-more' as const });

function u32le(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

export function probeWireGuard(udpPayload: Uint8Array): ProbeResult<WireGuardInfo> {
  const b = udpPayload;
  const n = b.length;
  if (n === 0) return NEED_MORE;
  if (n < 4 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) return NO;
  switch (b[0]) {
    case 1:
      if (n !== WG_INITIATION_LEN) return NO;
      return { status: 'match', info: { messageType: 1, senderIndex: u32le(b, 4) } };
    case 2:
      if (n !== WG_RESPONSE_LEN) return NO;
      return { status: 'match', info: { messageType: 2, senderIndex: u32le(b, 4), receiverIndex: u32le(b, 8) } };
    case 3:
      if (n !== WG_COOKIE_REPLY_LEN) return NO;
      return { status: 'match', info: { messageType: 3, receiverIndex: u32le(b, 4) } };
    case 4:
      if (n < WG_TRANSPORT_MIN_LEN) return NO;
      return { status: 'match', info: { messageType: 4, receiverIndex: u32le(b, 4) } };
    default:
      return NO;
  }
}
