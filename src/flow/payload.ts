/**
 * Where a flow's payload goes. The flow table reassembles the first bytes of each TCP direction (up to
 * the caps) and hands over UDP datagrams until the observer says it is done; what the bytes mean is not
 * the table's business. The Engine plugs in the classifier (classify/), so flow/ knows no protocol.
 */
export interface PayloadObserver {
  /** Nothing more is wanted from either direction: the table stops buffering. */
  readonly done: boolean;
  readonly clientDone: boolean;
  /** The client's contiguous prefix grew (`full`: the cap is reached). `pickup`: no handshake seen. */
  clientBytes(bytes: Uint8Array, full: boolean, pickup: boolean): void;
  /** The server's contiguous prefix grew. */
  serverBytes(bytes: Uint8Array, full: boolean): void;
  /** The TCP flow ended before the observer was done; the bytes seen so far (possibly empty). */
  finish(client: Uint8Array, server: Uint8Array): void;
  /** One UDP datagram's payload. */
  datagram(payload: Uint8Array): void;
}

/** Makes one observer per flow, and says how many leading bytes of each TCP direction it may want. */
export interface PayloadObservers<P extends PayloadObserver> {
  create(): P;
  clientPrefixCap: number;
  serverPrefixCap: number;
}
