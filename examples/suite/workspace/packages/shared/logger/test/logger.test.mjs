import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatRecord, isLogLevel } from '../dist/index.js';

test('writes records at or above its level to the sink, with a one-line text', () => {
  const records = [];
  const logger = createLogger({ level: 'info', sink: (record) => records.push(record), clock: () => new Date(0) });
  logger.debug('hidden');
  logger.info('user signed in', { id: 'u1', admin: false });
  logger.error('disk full');
  assert.deepEqual(
    records.map((record) => [record.level, record.text, record.time]),
    [
      ['info', 'INFO user signed in id="u1" admin=false', '1970-01-01T00:00:00.000Z'],
      ['error', 'ERROR disk full', '1970-01-01T00:00:00.000Z'],
    ],
  );
});

test('refuses an unknown level', () => {
  assert.throws(() => createLogger({ level: 'loud' }), /level must be one of debug, info, warn, error/);
  assert.equal(isLogLevel('warn'), true);
  assert.equal(formatRecord('warn', 'x', { n: undefined }), 'WARN x n=undefined');
});
