/**
 * `tearless serve`: one command from a model (or a folder of models) to an HTTP service —
 * image API, Open Inference Protocol v2, demo page, docs, metrics. Prints the URL it listens
 * on; SIGTERM/SIGINT stop accepting connections, let in-flight requests finish, close the
 * models and exit 0 (a second signal exits 1 at once).
 */
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { TearlessError } from '../core/errors.js';
import { buildServer } from '../server/app.js';
import { apiKeysFromEnv } from '../server/plugins/auth.js';
import type { ModelManagerOptions } from '../server/types.js';
import { integerIn, numberIn } from './options.js';

/** The model manager's options that are flags as they are. */
type ManagerFlags = Pick<ModelManagerOptions, 'threads' | 'streams' | 'maxBatchSize' | 'maxQueueDelayMs' | 'maxQueue' | 'timeoutMs' | 'maxPixels' | 'reloadIntervalMs' | 'defaultModel'>;

export interface ServeFlags extends ManagerFlags {
  host: string;
  port: number;
  apiKey?: string[];
  cors?: string;
  maxBodyMb: number;
  metricsAuth?: boolean;
  logLevel?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve models over HTTP: image API, Open Inference Protocol v2, demo page, docs, metrics')
    .argument('[models...]', 'ONNX model files and/or repository folders (<repo>/<name>/<version>/model.onnx); default: the bundled model')
    .option('--host <host>', 'interface to listen on (0.0.0.0 for all)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', integerIn('--port', 0, 65535), 8080)
    .option('--api-key <key>', 'require this API key (repeatable; also env TEARLESS_API_KEYS=k1,k2)', collect)
    .option('--cors <origins>', 'allow these browser origins (comma-separated, or * for any)')
    .option('--threads <n>', 'intra-op threads per inference stream (default 1)', integerIn('--threads', 1, 1024))
    .option('--streams <n>', 'parallel inference streams per model (default: one per available core)', integerIn('--streams', 1, 64))
    .option('--max-batch-size <n>', 'dynamic batching cap for models with a batch dimension (1 disables)', integerIn('--max-batch-size', 1, 1024))
    .option('--max-queue-delay-ms <ms>', 'how long a request may wait for a batch to fill', numberIn('--max-queue-delay-ms', 0, 10_000))
    .option('--max-queue <n>', 'requests per model queued or running before new ones get 503', integerIn('--max-queue', 1, 1_000_000))
    .option('--timeout-ms <ms>', 'per-request timeout, arrival to result', integerIn('--timeout-ms', 1, 3_600_000))
    .option('--max-body-mb <mb>', 'largest request body / upload, in MiB', numberIn('--max-body-mb', 0.001, 4096), 32)
    .option('--max-pixels <n>', 'refuse images with more pixels than this', integerIn('--max-pixels', 1, 2 ** 40))
    .option('--default-model <name>', 'the model POST /v1/detect uses (default: the first one serving, in command-line order, each folder alphabetically)')
    .option('--reload-interval-ms <ms>', 'repository rescan interval for hot reload (0 disables)', integerIn('--reload-interval-ms', 0, 86_400_000))
    .option('--metrics-auth', 'require the API key for /metrics too')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText('after', `
Examples:
  $ tearless serve                                  # bundled model on http://127.0.0.1:8080
  $ tearless serve my_model.onnx other.onnx --host 0.0.0.0
  $ tearless serve ./model-repo --api-key $KEY      # <repo>/<name>/<version>/model.onnx, hot reload
  $ curl -F image=@dog.jpg 'http://127.0.0.1:8080/v1/detect?conf=0.3'`)
    .action(async (models: string[], flags: ServeFlags) => {
      await runServe(models, flags);
    });
}

export async function runServe(models: string[], flags: ServeFlags): Promise<void> {
  for (const m of models) {
    await stat(m).catch((err: NodeJS.ErrnoException) => {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model or repository "${m}" does not exist (${err.code}).`, { cause: err });
    });
  }
  const apiKeys = [...(flags.apiKey ?? []), ...apiKeysFromEnv()];
  const { app, manager } = await buildServer({
    sources: models,
    threads: flags.threads,
    streams: flags.streams,
    maxBatchSize: flags.maxBatchSize,
    maxQueueDelayMs: flags.maxQueueDelayMs,
    maxQueue: flags.maxQueue,
    timeoutMs: flags.timeoutMs,
    maxPixels: flags.maxPixels,
    reloadIntervalMs: flags.reloadIntervalMs,
    defaultModel: flags.defaultModel,
    apiKeys,
    metricsAuth: flags.metricsAuth,
    cors: flags.cors,
    bodyLimit: Math.round(flags.maxBodyMb * 1024 * 1024),
    logLevel: flags.logLevel,
  });

  // Graceful shutdown: stop accepting, finish in-flight requests, close the models (the app's
  // onClose hook), exit 0. A second signal while that runs exits 1 at once.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  let address: string;
  try {
    address = await app.listen({ host: flags.host, port: flags.port });
  } catch (err) {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new TearlessError('TL_ERR_BAD_OPTION', `Cannot listen on ${flags.host}:${flags.port} (${code}). Choose another --port or --host.`, { cause: err });
  }

  const auth = apiKeys.length ? `, API key required (${apiKeys.length})` : '';
  process.stdout.write(`${pc.bold('tearless serve')} listening on ${pc.cyan(address)}  (demo ${address}/, docs ${address}/docs, metrics ${address}/metrics${auth})\n`);

  void manager.whenLoaded().then(() => {
    const index = manager.index();
    const ready = index.filter((v) => v.state === 'ready').map((v) => `${v.name} v${v.version}`);
    const failed = index.filter((v) => v.state === 'failed').map((v) => `${v.name} v${v.version}: ${v.reason ?? 'failed'}`);
    if (ready.length) process.stdout.write(`ready: ${ready.join(', ')}${manager.defaultModel ? ` (default ${manager.defaultModel})` : ''}\n`);
    for (const f of failed) process.stderr.write(`${pc.red('error')} ${f}\n`);
    if (!ready.length) process.stderr.write(`${pc.red('error')} no model could be loaded; /v2/health/ready stays 503 until one is\n`);
  }, (err: unknown) => {
    app.log.error({ err }, 'loading the models failed');
  });
}
