import type { IHeaders } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * OpenTelemetry across Kafka hops. Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then, and only then, the SDK and the OTLP
 * exporter (http/json) are loaded, and `tracer()` returns non-null. Off, every call site
 * is one null check: no module loaded, no span built, no header written.
 *
 * The W3C `traceparent` travels in each message's Kafka headers: the unit of work writes
 * the handling span's into the outbox row, the relay replaces it with its publish span's,
 * and the receiver's handle span is that one's child. A command carries it to its
 * participant, the reply back, the next command on: one trace per saga. The standard
 * OTEL_* variables (headers, resource attributes, batch delays…) are read by the SDK.
 */

export type SpanKindName = 'consumer' | 'producer' | 'internal';

export interface TracedSpan {
  /** This span as a W3C traceparent header value. */
  readonly traceparent: string;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Ends it (at `endTime`, epoch ms, or now); with an error, its status is ERROR. */
  end(error?: unknown, endTime?: number): void;
}

export interface MessagingTracer {
  /** A span, child of `parent` (a traceparent header value, checked; junk starts a new trace). */
  start(
    name: string,
    kind: SpanKindName,
    parent: string | null | undefined,
    attributes?: Record<string, string | number | boolean>,
    startTime?: number,
  ): TracedSpan;
  shutdown(): Promise<void>;
}

export const TRACEPARENT_HEADER = 'traceparent';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export interface ParsedTraceparent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/** A W3C traceparent (version 00) or null: anything else is ignored, never fatal. */
export function parseTraceparent(text: string | null | undefined): ParsedTraceparent | null {
  if (typeof text !== 'string' || text.length !== 55) return null;
  const match = TRACEPARENT.exec(text);
  if (!match || ZEROS.test(match[1]!) || ZEROS.test(match[2]!)) return null;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) };
}

/** The traceparent header of a fetched message, as text, or null. */
export function traceparentOf(headers: IHeaders | undefined): string | null {
  const value = headers?.[TRACEPARENT_HEADER];
  if (typeof value === 'string') return value.length === 55 ? value : null;
  return Buffer.isBuffer(value) && value.length === 55 ? value.toString('latin1') : null;
}

let active: MessagingTracer | null = null;

/** The tracer, or null when tracing is off (the default). */
export const tracer = (): MessagingTracer | null => active;

/** True when the environment asks for traces to be exported. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Loads the SDK and starts exporting when configured (see above); otherwise does nothing
 * and loads nothing. Called once at a service's start, before it handles anything.
 */
export async function startTracing(serviceName: string, logger?: Logger, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (active || !tracingConfigured(env)) return active !== null;
  const api = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = await import('@opentelemetry/resources');
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }));
  // The SDK's batch processor reads no environment itself: the standard variable is honoured here.
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  const scheduledDelayMillis = Number.isInteger(delay) && delay > 0 ? delay : 5_000;
  const provider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis })] });
  const otel = provider.getTracer('@sitesaga/messaging');
  const kinds = { consumer: api.SpanKind.CONSUMER, producer: api.SpanKind.PRODUCER, internal: api.SpanKind.INTERNAL } as const;
  const format = (context: { traceId: string; spanId: string; traceFlags: number }): string =>
    `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  active = {
    start(name, kind, parent, attributes, startTime) {
      const remote = parseTraceparent(parent);
      const context = remote ? api.trace.setSpanContext(api.ROOT_CONTEXT, { ...remote, isRemote: true }) : api.ROOT_CONTEXT;
      const span = otel.startSpan(
        name,
        { kind: kinds[kind], ...(attributes ? { attributes } : {}), ...(startTime !== undefined ? { startTime } : {}) },
        context,
      );
      return {
        traceparent: format(span.spanContext()),
        setAttribute: (key, value) => void span.setAttribute(key, value),
        end(error, endTime) {
          if (error !== undefined) {
            span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500) });
          }
          span.end(endTime);
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
  logger?.info({ endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'OpenTelemetry tracing on: exporting spans by OTLP');
  return true;
}

/** Flushes and stops the exporter (at shutdown); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const current = active;
  active = null;
  await current?.shutdown().catch(() => undefined);
}
