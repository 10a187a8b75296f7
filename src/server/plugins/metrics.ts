/**
 * Prometheus metrics on a registry of the server's own (not prom-client's global one, so a
 * process can build several servers): requests by route/method/status/model, request latency
 * per route, per-stage latency fed by the handlers (`app.tearlessMetrics.observeTimings`), and
 * gauges/counters read from the model manager at scrape time (queue depth, model state, batch
 * sizes, inference counts), plus prom-client's default process metrics. `GET /metrics`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { StageTimings } from '../../pipeline/detector.js';
import type { ModelManager, ModelState, ModelStats, ModelVersionStatus } from '../types.js';

export interface TearlessMetrics {
  readonly registry: Registry;
  /** Record the stage timings (milliseconds) of one detection on `model`. */
  observeTimings(model: string, timings: Partial<StageTimings>): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    tearlessMetrics: TearlessMetrics;
  }
  interface FastifyRequest {
    /** The model a request was served by (the `model` label of the request counter). */
    tearlessModel: string | null;
  }
}

export interface MetricsPluginOptions {
  manager: ModelManager;
  /** Collect prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
}

const STAGES: [keyof StageTimings, string][] = [
  ['decodeMs', 'decode'],
  ['preprocessMs', 'preprocess'],
  ['queueMs', 'queue'],
  ['inferMs', 'infer'],
  ['postprocessMs', 'postprocess'],
];

const MODEL_STATES: ModelState[] = ['loading', 'ready', 'unloading', 'unavailable', 'failed'];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

type Labels = Record<string, string | number>;
interface MetricValue { value: number; labels: Labels; metricName?: string }

/**
 * A metric whose values are computed from the manager at scrape time (counters and histograms
 * prom-client cannot `set`). prom-client's registry only needs `name`, `help`, `type`,
 * `aggregator` and `get()` from a metric.
 */
function scrapeMetric(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}

function safe<T>(fn: () => T[]): T[] {
  try {
    return fn();
  } catch {
    return [];
  }
}

/** Model label of a request: set by a handler, else a known model named in the route params. */
function modelOf(request: FastifyRequest, manager: ModelManager): string {
  if (request.tearlessModel) return request.tearlessModel;
  const params = (request.params ?? {}) as Record<string, unknown>;
  const name = params.name ?? params.model_name ?? params.model ?? params.modelName;
  // Only names the manager knows: a client must not be able to create label values at will.
  if (typeof name === 'string' && safe(() => manager.index()).some((v) => v.name === name)) return name;
  return '';
}

export const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = async (app: FastifyInstance, opts: MetricsPluginOptions) => {
  const { manager } = opts;
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'tearless_http_requests_total',
    help: 'HTTP requests by route pattern, method, status code and model.',
    labelNames: ['route', 'method', 'status', 'model'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tearless_http_request_duration_seconds',
    help: 'HTTP request latency (from the request arriving to the response being sent) by route pattern.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const stages = new Histogram({
    name: 'tearless_stage_duration_seconds',
    help: 'Time per detection stage (decode, preprocess, queue, infer, postprocess) by model.',
    labelNames: ['stage', 'model'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const stats = (): ModelStats[] => safe(() => manager.stats());
  const index = (): ModelVersionStatus[] => safe(() => manager.index());

  new Gauge({
    name: 'tearless_queue_depth',
    help: 'Requests waiting in the model version queue.',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of stats()) this.set({ model: s.name, version: s.version }, s.queueDepth);
    },
  });
  new Gauge({
    name: 'tearless_model_state',
    help: 'Model version state: 1 for the current state, 0 for the others.',
    labelNames: ['model', 'version', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of index()) {
        for (const state of MODEL_STATES) this.set({ model: v.name, version: v.version, state }, v.state === state ? 1 : 0);
      }
    },
  });

  scrapeMetric(registry, 'tearless_inference_total', 'Images inferred, by model version (a batch of N counts N).', 'counter', () =>
    stats().map((s) => ({ value: s.inferences, labels: { model: s.name, version: s.version } })));
  scrapeMetric(registry, 'tearless_inference_executions_total', 'Inference runs executed, by model version (a batch counts once).', 'counter', () =>
    stats().map((s) => ({ value: s.executions, labels: { model: s.name, version: s.version } })));
  scrapeMetric(registry, 'tearless_inference_requests_total', 'Requests through the model queue, by model version and outcome.', 'counter', () =>
    stats().flatMap((s) => [
      { value: s.success, labels: { model: s.name, version: s.version, outcome: 'success' } },
      { value: s.failure, labels: { model: s.name, version: s.version, outcome: 'failure' } },
    ]));
  scrapeMetric(registry, 'tearless_inference_queue_seconds_total', 'Cumulative time requests waited in the model queue.', 'counter', () =>
    stats().map((s) => ({ value: s.queueNs / 1e9, labels: { model: s.name, version: s.version } })));
  scrapeMetric(registry, 'tearless_inference_compute_seconds_total', 'Cumulative compute time (input, infer, output), by model version.', 'counter', () =>
    stats().map((s) => ({ value: (s.computeInputNs + s.computeInferNs + s.computeOutputNs) / 1e9, labels: { model: s.name, version: s.version } })));
  scrapeMetric(registry, 'tearless_batch_size', 'Images per executed inference run (dynamic batching).', 'histogram', () =>
    stats().flatMap((s) => {
      const labels = { model: s.name, version: s.version };
      const sizes = Object.entries(s.batchSizes ?? {}).map(([size, count]) => [Number(size), Number(count)] as const);
      const out: MetricValue[] = BATCH_BUCKETS.map((le) => ({
        metricName: 'tearless_batch_size_bucket',
        labels: { ...labels, le },
        value: sizes.reduce((acc, [size, count]) => acc + (size <= le ? count : 0), 0),
      }));
      const count = sizes.reduce((acc, [, c]) => acc + c, 0);
      out.push(
        { metricName: 'tearless_batch_size_bucket', labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: 'tearless_batch_size_sum', labels, value: sizes.reduce((acc, [size, c]) => acc + size * c, 0) },
        { metricName: 'tearless_batch_size_count', labels, value: count },
      );
      return out;
    }));

  const metrics: TearlessMetrics = {
    registry,
    observeTimings(model, timings) {
      for (const [key, stage] of STAGES) {
        const ms = timings[key];
        if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) stages.observe({ stage, model }, ms / 1000);
      }
    },
  };
  app.decorate('tearlessMetrics', metrics);
  app.decorateRequest('tearlessModel', null);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    requests.inc({ route, method, status: String(reply.statusCode), model: modelOf(request, manager) });
    duration.observe({ route, method }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics',
      description: 'Request counts and latencies, per-stage detection latency, queue depth, batch sizes, model state and process metrics, in the Prometheus text format.',
      tags: ['metrics'],
      produces: ['text/plain'],
      response: { 200: { description: 'Prometheus text exposition format', type: 'string' } },
    },
  }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
