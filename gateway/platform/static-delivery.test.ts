/**
 * Delivery slots for the public static files: the cap, release when the connection closes (all of
 * its pipelined deliveries at once), the send deadline and the reset of idle connections — on
 * stand-in connections and hand-fired timers, so nothing waits. The wire behaviour is in
 * test/security/http-surface.test.ts.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  type DeliveryConnection,
  type DeliveryResponse,
  DeliverySlots,
  type Timers,
  staticFile,
} from './static-delivery.js';

class StandInConnection extends EventEmitter implements DeliveryConnection {
  destroyed = false;
  resets = 0;
  resetAndDestroy(): void {
    this.resets += 1;
    this.close();
  }
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

class StandInResponse extends EventEmitter implements DeliveryResponse {
  writableFinished = false;
  finish(): void {
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
  }
}

/** Timers fired by hand: `fireAll()` runs whatever is still armed. */
function handTimers(): Timers & { armed(): number; fireAll(): void } {
  const armed = new Map<object, () => void>();
  return {
    set(callback) {
      const timer = {};
      armed.set(timer, callback);
      return timer;
    },
    clear(timer) {
      armed.delete(timer);
    },
    armed: () => armed.size,
    fireAll() {
      const callbacks = [...armed.values()];
      armed.clear();
      for (const callback of callbacks) callback();
    },
  };
}

const exchange = (socket = new StandInConnection(), response = new StandInResponse()) => ({ socket, response });

describe('DeliverySlots', () => {
  it('refuses a delivery beyond the cap and frees slots when their connection closes, pipelined ones together', () => {
    const slots = new DeliverySlots({ maxConcurrent: 3, sendTimeoutMs: 1000 }, handTimers());
    const pipelined = new StandInConnection();
    const other = new StandInConnection();
    expect(slots.claim(exchange(pipelined))).toBe(true);
    expect(slots.claim(exchange(pipelined))).toBe(true);
    expect(slots.claim(exchange(other))).toBe(true);
    expect(slots.claim(exchange())).toBe(false);
    expect(slots.inUse).toBe(3);
    pipelined.close();
    expect(slots.inUse).toBe(1);
    expect(slots.claim(exchange())).toBe(true);
    other.close();
    expect(slots.inUse).toBe(1);
  });

  it('holds a delivery after its bytes are handed over, until the connection closes', () => {
    const slots = new DeliverySlots({ maxConcurrent: 1, sendTimeoutMs: 1000 }, handTimers());
    const delivered = exchange();
    expect(slots.claim(delivered)).toBe(true);
    delivered.response.finish();
    // The kernel may still hold every byte for a reader that does not read.
    expect(slots.claim(exchange())).toBe(false);
    delivered.socket.close();
    expect(slots.claim(exchange())).toBe(true);
  });

  it('holds nothing for an in-process request or a connection already gone', () => {
    const slots = new DeliverySlots({ maxConcurrent: 1, sendTimeoutMs: 1000 }, handTimers());
    const gone = new StandInConnection();
    gone.close();
    expect(slots.claim(undefined)).toBe(true);
    expect(slots.claim(exchange(gone))).toBe(true);
    expect(slots.inUse).toBe(0);
  });

  it('resets the connection of a delivery not handed over by the send deadline, and only that one', () => {
    const timers = handTimers();
    const slots = new DeliverySlots({ maxConcurrent: 5, sendTimeoutMs: 1000 }, timers);
    const stalled = exchange();
    const handedOver = exchange();
    slots.claim(stalled);
    slots.claim(handedOver);
    handedOver.response.finish();
    expect(timers.armed()).toBe(1);
    timers.fireAll();
    expect(stalled.socket.resets).toBe(1);
    expect(handedOver.socket.resets).toBe(0);
    expect(slots.inUse).toBe(1);
  });

  it("resets a connection that carried a delivery when Node's keep-alive timeout finds it idle", () => {
    const slots = new DeliverySlots({ maxConcurrent: 5, sendTimeoutMs: 1000 }, handTimers());
    const delivered = exchange();
    slots.claim(delivered);
    delivered.response.finish();
    delivered.socket.emit('timeout');
    expect(delivered.socket.resets).toBe(1);
    expect(slots.inUse).toBe(0);
  });
});

describe('staticFile', () => {
  it('keeps its own copy of the bytes, with the strong entity tag of their SHA-256', () => {
    const source = new TextEncoder().encode('body { color: red }');
    const file = staticFile(source, 'text/css');
    source.fill(0);
    expect(new TextDecoder().decode(file.bytes)).toBe('body { color: red }');
    expect(file.etag).toBe(`"sha256-${createHash('sha256').update('body { color: red }').digest('hex')}"`);
    expect(staticFile('body { color: red }', 'text/css').etag).toBe(file.etag);
  });
});
