/**
 * Preloaded (`node --import`) into the server processes the benches and the tests start: when the parent
 * dies without stopping them (SIGKILL, a crash, tap's timeout), their stdin pipe closes and the node
 * shuts down gracefully (SIGTERM to itself) instead of lingering. The pipe is unref'd so it never keeps
 * a stopping node alive.
 */
import type { Socket } from 'node:net';

const stdin = process.stdin as unknown as Socket;
stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
stdin.resume();
stdin.unref();
