import type { Producer } from '../producer/producer.js';

/**
 * What the progress line says about brokers: the addresses the producer is failing to reach
 * (from its connectFailed events, cleared by a connect), with the latest reason. Undefined while
 * all is well.
 */
export function watchBrokers(producer: Pick<Producer, 'on' | 'off'>): { note: () => string | undefined; stop: () => void } {
  /** By address (a bootstrap entry and the node behind it are one), the broker's name and why it failed. */
  const failing = new Map<string, { broker: string; reason: string }>();
  const onFailed = ({ broker, address, error }: { broker: string; address: string; error: Error }) => {
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    const reason = typeof code === 'string' ? code : (error.message.split('\n')[0] ?? '').slice(0, 80);
    // A node's name says more than "bootstrap broker" for the same address: keep it.
    const known = failing.get(address)?.broker;
    const name = known && broker.startsWith('bootstrap ') && !known.startsWith('bootstrap ') ? known : broker;
    failing.delete(address); // the latest failure goes last
    failing.set(address, { broker: name, reason });
  };
  const onConnect = ({ address }: { address: string }) => failing.delete(address);
  producer.on('connectFailed', onFailed);
  producer.on('connect', onConnect);
  return {
    note: () => {
      if (failing.size === 0) return undefined;
      const brokers = [...failing.values()];
      return `no answer from ${brokers.map(({ broker }) => broker).join(', ')}: ${brokers.at(-1)?.reason}; retrying`;
    },
    stop: () => {
      producer.off('connectFailed', onFailed);
      producer.off('connect', onConnect);
    },
  };
}
