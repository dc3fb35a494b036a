/**
 * The TLS ClientHello of the tests, built field by field so a test controls every byte (a hostile
 * SNI, invalid UTF-8, a 300-byte name). Real stacks' hellos (curl, Chrome, OpenJDK) come from the
 * public captures (test/helpers/captures.ts).
 */

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

/** One extension: type, length, body. */
export function tlsExtension(type: number, body: ArrayLike<number>): Uint8Array {
  return Uint8Array.from([...u16(type), ...u16(body.length), ...Array.from(body)]);
}

/**
 * What a TLS 1.3 client adds, in OpenSSL's order: supported_groups (x25519), signature_algorithms,
 * supported_versions (1.3, 1.2), psk_key_exchange_modes and an x25519 key_share.
 */
const TLS13_EXTENSIONS: readonly Uint8Array[] = [
  tlsExtension(10, [0, 2, 0x00, 0x1d]),
  tlsExtension(13, [0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x08, 0x07]),
  tlsExtension(43, [4, 0x03, 0x04, 0x03, 0x03]),
  tlsExtension(45, [1, 1]),
  tlsExtension(51, [0, 36, 0x00, 0x1d, 0, 32, ...new Array<number>(32).fill(0x2a)]),
];

export interface ClientHelloOptions {
  /** server_name: a string is sent as UTF-8; bytes as they are (no validation either way). Absent: no extension. */
  sni?: string | Uint8Array;
  /** application_layer_protocol_negotiation, each protocol as UTF-8. Absent: no extension. */
  alpn?: string[];
  /** Add the extensions of a TLS 1.3 client (supported_versions 1.3 among them). */
  tls13?: boolean;
  /** Further extensions (see tlsExtension), after all the others. */
  extensions?: Uint8Array[];
}

/**
 * One TLS record (content type 22, record version 3.1) holding one ClientHello: legacy_version 3.3,
 * a random of 32 bytes 0x07, no session id, one cipher suite (TLS_AES_128_GCM_SHA256), null
 * compression, then server_name, ALPN and the other extensions asked for.
 */
export function clientHello(o: ClientHelloOptions = {}): Uint8Array {
  const ext: number[] = [];
  if (o.sni !== undefined) {
    const name = typeof o.sni === 'string' ? new TextEncoder().encode(o.sni) : o.sni;
    const list = [0, ...u16(name.length), ...name];
    ext.push(...tlsExtension(0, [...u16(list.length), ...list]));
  }
  if (o.alpn !== undefined) {
    const enc = new TextEncoder();
    const protos = o.alpn.flatMap((a) => {
      const b = [...enc.encode(a)];
      return [b.length, ...b];
    });
    ext.push(...tlsExtension(16, [...u16(protos.length), ...protos]));
  }
  for (const e of [...(o.tls13 === true ? TLS13_EXTENSIONS : []), ...(o.extensions ?? [])]) ext.push(...e);
  const body = [3, 3, ...new Array<number>(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(ext.length), ...ext];
  const hs = [1, 0, ...u16(body.length), ...body];
  return Uint8Array.from([22, 3, 1, ...u16(hs.length), ...hs]);
}
