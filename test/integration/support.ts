import { createProducer, type Producer, type ProducerConfig } from 'kafkarx';
import { bootstrap } from '../broker/reference.ts';

/**
 * Producers for one test file, pointed at the run's broker and all closed after its last test, so
 * a failing test leaves no connection open.
 */
export function producersFor(clientId: string): (overrides?: Partial<ProducerConfig>) => Producer {
  const producers: Producer[] = [];
  afterAll(async () => {
    await Promise.all(producers.map((p) => p.close()));
  });
  return (overrides = {}) => {
    const p = createProducer({ brokers: bootstrap().split(','), clientId, ...overrides });
    producers.push(p);
    return p;
  };
}
