// Entry point: starts the server and shuts it down gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // No configured logger yet: a default one, so even this line is a JSON log line.
      createLogger('info').fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const storage = config.databaseUrl ? 'postgresql' : `embedded PGlite in ${config.dataDir}`;
  const store = config.redisUrl ? 'redis' : 'in-process';
  const running = await startServer(config, logger);
  logger.info({ issuer: config.issuer, listening: `${config.host}:${config.port}`, storage, store }, 'server started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  createLogger('info').fatal(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
