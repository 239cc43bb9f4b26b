#!/usr/bin/env node
import { createLogger } from './logger.js';
import type { Settings } from './config-schema.js';
import { startServer, type RunningServer } from './create-server.js';
import { loadSettings, SettingsError } from './load-settings.js';
import { reloadClients } from './clients-file.js';
import { reloadKeys, watchKeysFile } from './reload.js';

/**
 * The standalone server: `npm start`. Reads config.json (the original Go
 * service's format works as is), the environment and the command line.
 */
async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`modelscope-balance: config error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Pool keys are scrubbed from log messages by the balancer's own index once it exists (see startServer).
  const logger = createLogger(settings.log_level, [...settings.access_tokens, settings.admin_token].filter(Boolean));
  let running: RunningServer;
  try {
    running = await startServer(settings, logger);
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { option?: string };
    logger.fatal({ code: err.code, option: err.option }, `cannot start: ${err.message}`);
    process.exit(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 3 : 2);
  }
  // SIGHUP, or a change to the keys file: the keys are read again and applied without a restart.
  let current = settings;
  let reloading = Promise.resolve();
  // One reload at a time: a SIGHUP during a reload is applied after it, on what it left.
  const reload = () => {
    reloading = reloading.then(async () => {
      current = await reloadKeys(running.balancer, current, logger);
      if (settings.clients_file) reloadClients(running.balancer, settings.clients_file, logger);
    });
  };
  process.on('SIGHUP', reload);
  if (settings.api_keys_file) {
    watchKeysFile(settings.api_keys_file, reload, {
      onLost: () => logger.warn({}, "the keys file's folder is gone: changes are seen again once it is back"),
    });
  }
  if (settings.clients_file) {
    const file = settings.clients_file;
    watchKeysFile(
      file,
      () => void (reloading = reloading.then(() => void reloadClients(running.balancer, file, logger))),
      {
        onLost: () => logger.warn({}, "the clients file's folder is gone: changes are seen again once it is back"),
      },
    );
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    // Whatever happens below (a request that ignores the grace period, a logger stuck on a dead pipe), the process
    // ends.
    setTimeout(() => process.exit(1), settings.shutdown_grace_ms + 5_000).unref();
    void running.shutdown().then(() => {
      // No logger.flush(): the logger writes synchronously, and pino's flush loops forever on EPIPE when the log reader
      // is gone.
      logger.info({}, 'stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

void main();
