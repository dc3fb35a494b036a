/**
 * Typed errors. Each has a stable `code` (tests compare codes, not prose) and a message that names
 * the thing at fault (file, byte offset, row, field). The CLI prints `message` on one line and exits
 * with `exitCode`; nothing else in src/ touches process or exit codes.
 */
export class NetmatrixError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 2) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

export type CaptureErrorCode =
  | 'capture-io' // cannot open/read the file
  | 'capture-format' // not a pcap/pcapng file (bad magic, bad header)
  | 'capture-truncated' // file ends in the middle of a header or record
  | 'capture-corrupt' // a record/block length or field is impossible
  | 'unsupported-linktype'; // a link type we cannot decode

/** A problem with a capture file. `offset` is the byte offset in `file` where the problem is. */
export class CaptureError extends NetmatrixError {
  readonly file: string;
  readonly offset: number | undefined;
  constructor(code: CaptureErrorCode, file: string, offset: number | undefined, detail: string) {
    super(code, `${file}${offset === undefined ? '' : ` at byte ${offset}`}: ${detail}`);
    this.file = file;
    this.offset = offset;
  }
}

/** A problem with a rules or inventory file: names the file, line, row and field. */
export class RulesError extends NetmatrixError {
  constructor(message: string) {
    super('rules-invalid', message);
  }
}

/** A bad command line. */
export class UsageError extends NetmatrixError {
  constructor(message: string) {
    super('usage', message);
  }
}
