import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Tracing costs nothing when off: a process started without an OTLP endpoint never loads
 * the OpenTelemetry SDK or exporter (prom-client loads the tiny @opentelemetry/api for its
 * exemplars either way). Run in a fresh node process, on the built library, the way a
 * service loads it.
 */
const SDK = /@opentelemetry[+/](sdk-trace|exporter-trace-otlp-http|otlp-|resources)/;

const LIBRARY = join(__dirname, '..', '..', 'dist', 'index.js');
const probe = `
  const messaging = require(${JSON.stringify(LIBRARY)});
  messaging.startTracing('probe').then((on) => {
    const sdk = Object.keys(require.cache).filter((file) => ${SDK}.test(file));
    process.stdout.write(JSON.stringify({ on, tracer: messaging.tracer() !== null, sdkModules: sdk.length }));
    return messaging.stopTracing();
  }).then(() => process.exit(0));`;

const run = (env: Record<string, string>) =>
  JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: join(__dirname, '..', '..'), env: { PATH: process.env.PATH ?? '', ...env } }).toString()) as {
    on: boolean;
    tracer: boolean;
    sdkModules: number;
  };

describe('tracing switch', () => {
  it('loads no SDK and builds no tracer without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(run({})).toEqual({ on: false, tracer: false, sdkModules: 0 });
    expect(run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' })).toEqual({ on: false, tracer: false, sdkModules: 0 });
  });

  it('loads the SDK and the OTLP exporter when an endpoint is set', () => {
    const on = run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' });
    expect(on).toMatchObject({ on: true, tracer: true });
    expect(on.sdkModules).toBeGreaterThan(0);
  });
});
