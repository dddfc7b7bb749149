import type { IHeaders } from 'kafkajs';

/**
 * The largest record this platform produces: far under the broker's `max.message.bytes`
 * (1 MB by default), so that nothing an input causes — an error report, a reason list, a
 * rejection, a dead letter — makes a record the broker refuses. A record that would be
 * larger is never sent as is: the outbox relay parks it, the DLQ sends a bounded copy.
 */
export const MAX_RECORD_BYTES = 512 * 1024;

type HeaderValue = IHeaders[string];

const bytesOf = (value: string | Buffer | null | undefined): number =>
  value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;

const headerValueBytes = (value: HeaderValue): number =>
  value === undefined
    ? 0
    : Array.isArray(value)
      ? value.reduce((sum: number, item) => sum + bytesOf(item as string | Buffer), 0)
      : bytesOf(value as string | Buffer);

export const headerBytes = (headers: IHeaders | undefined): number =>
  Object.entries(headers ?? {}).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + headerValueBytes(value), 0);

/** Roughly what a record costs on the wire (key + value + headers, without framing). */
export const recordBytes = (record: { key?: string | Buffer | null; value: string | Buffer | null; headers?: IHeaders }): number =>
  bytesOf(record.key) + bytesOf(record.value) + headerBytes(record.headers);

/** Cuts a string to at most `maxBytes` of UTF-8, never in the middle of a character. */
export function truncateUtf8(text: string, maxBytes: number, marker = '…'): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker));
  let cut = Buffer.from(text).subarray(0, room).toString('utf8');
  // A cut inside a multi-byte character decodes as U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + marker;
}
