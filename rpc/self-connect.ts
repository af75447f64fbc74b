/**
 * A TCP connect to a port of this host where nothing listens can succeed by connecting the socket to
 * itself: when the kernel happens to pick the destination port as the local port, the SYN meets itself
 * (a "simultaneous open"). That happens for ports inside the kernel's ephemeral range (on Linux 32768 to
 * 60999): after a few thousand reconnects to a stopped node on such a port, one lands on itself. The
 * client would read its own requests back; worse, a socket closed gracefully lingers in TIME_WAIT for
 * a minute holding the port, so the node that should listen there cannot start again (EADDRINUSE).
 * Go's dialer guards against this the same way.
 */
import type net from 'node:net';

/** True if `socket` is connected to itself; it is then reset (RST, no TIME_WAIT) and destroyed. */
export function resetIfSelfConnected(socket: net.Socket): boolean {
  if (socket.localPort === undefined || socket.localPort !== socket.remotePort || socket.localAddress !== socket.remoteAddress) return false;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // a TLS socket's handle cannot be reset from here; the port lingers in TIME_WAIT
  }
  return true;
}
