import type { IHeaders, KafkaMessage } from 'kafkajs';

/**
 * Per-hop timing of every message, carried in Kafka headers (no extra write, no extra
 * message): where a message spent its time between the unit of work that wrote it and
 * the one that handled it.
 *
 * - `outbox-at` (epoch ms): when the sender's unit of work wrote the outbox row (at its
 *   commit). The Kafka record's own timestamp is when the relay produced it.
 * - `cause-hops` (`outbox,broker,handler` in whole ms): the receiver-side timings of the
 *   message that caused this one, as its receiver measured them: a reply carries its
 *   command's timings back to the orchestrator, which only sees its own side directly.
 *
 * So, for a message: outbox = produced − outbox-at (the sender's outbox and relay),
 * broker = fetched − produced (Kafka), handler = the receiver's commit − fetched. Clocks
 * of different hosts may disagree: a small negative difference counts as 0. Header values
 * are untrusted: anything that is not a short, plausible number is ignored, never fatal.
 */
export const OUTBOX_AT_HEADER = 'outbox-at';
export const CAUSE_HOPS_HEADER = 'cause-hops';

/** A hop longer than this (a week) is no measurement: the header, or a clock, is wrong. */
export const MAX_HOP_MS = 7 * 24 * 3600 * 1000;
/** Header values longer than this are not read at all. */
const MAX_HEADER_CHARS = 40;

/** The three legs of one message, in whole milliseconds. */
export interface Hops {
  /** Sender's outbox: row written (commit) → produced by its relay. */
  readonly outboxMs: number;
  /** Kafka: produced → fetched by the receiver. */
  readonly brokerMs: number;
  /** Receiver: fetched → its unit of work committed what the message caused. */
  readonly handlerMs: number;
}

/** What a receiver knows of a message when it fetches it. */
export interface ReceivedHops {
  readonly fetchedAt: number;
  /** Null when a header or timestamp was missing or implausible. */
  readonly outboxMs: number | null;
  readonly brokerMs: number | null;
  /** The timings its cause had at its receiver (the `cause-hops` header), or null. */
  readonly cause: Hops | null;
}

const EPOCH_MS = /^[0-9]{1,15}$/;
const CAUSE_HOPS = /^([0-9]{1,10}),([0-9]{1,10}),([0-9]{1,10})$/;

/** A header's value as short text, or null (absent, repeated, binary junk, too long). */
function headerText(headers: IHeaders | undefined, name: string): string | null {
  const value = headers?.[name];
  if (value === undefined || Array.isArray(value)) return null;
  if (typeof value === 'string') return value.length <= MAX_HEADER_CHARS ? value : null;
  return Buffer.isBuffer(value) && value.length <= MAX_HEADER_CHARS ? value.toString('latin1') : null;
}

/** `later − earlier`, a small negative (clock skew) as 0, null when implausible. */
export function legMs(earlier: number | null, later: number | null): number | null {
  if (earlier === null || later === null || !Number.isFinite(earlier) || !Number.isFinite(later)) return null;
  const ms = Math.round(later - earlier);
  if (ms > MAX_HOP_MS || ms < -MAX_HOP_MS) return null;
  return Math.max(0, ms);
}

const epochMs = (text: string | null): number | null => {
  if (text === null || !EPOCH_MS.test(text)) return null;
  const ms = Number(text);
  return ms > 0 ? ms : null;
};

export function parseCauseHops(text: string | null): Hops | null {
  const match = text === null ? null : CAUSE_HOPS.exec(text);
  if (!match) return null;
  const [outboxMs, brokerMs, handlerMs] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (outboxMs > MAX_HOP_MS || brokerMs > MAX_HOP_MS || handlerMs > MAX_HOP_MS) return null;
  return { outboxMs, brokerMs, handlerMs };
}

/** Reads a fetched message's hop headers; never throws. */
export function receivedHops(message: Pick<KafkaMessage, 'headers' | 'timestamp'>, fetchedAt: number): ReceivedHops {
  const producedAt = epochMs(typeof message.timestamp === 'string' ? message.timestamp : null);
  return {
    fetchedAt,
    outboxMs: legMs(epochMs(headerText(message.headers, OUTBOX_AT_HEADER)), producedAt),
    brokerMs: legMs(producedAt, fetchedAt),
    cause: parseCauseHops(headerText(message.headers, CAUSE_HOPS_HEADER)),
  };
}

/** The hops of a received message once its handler is done at `doneAt`; null when a leg is unknown. */
export function hopsOf(received: ReceivedHops, doneAt: number): Hops | null {
  const handlerMs = legMs(received.fetchedAt, doneAt);
  if (received.outboxMs === null || received.brokerMs === null || handlerMs === null) return null;
  return { outboxMs: received.outboxMs, brokerMs: received.brokerMs, handlerMs };
}

/**
 * The hop headers of messages written now (`at`) by a unit of work handling a message
 * whose hops are `received` (or none: work started by HTTP or a timer).
 */
export function hopHeaders(at: number, received: ReceivedHops | undefined): Record<string, string> {
  const hops = received ? hopsOf(received, at) : null;
  return hops
    ? { [OUTBOX_AT_HEADER]: String(at), [CAUSE_HOPS_HEADER]: `${hops.outboxMs},${hops.brokerMs},${hops.handlerMs}` }
    : { [OUTBOX_AT_HEADER]: String(at) };
}
