import type { Cluster } from '../cluster/cluster.ts';
import { Apis } from '../network/apis.ts';
import type { BrokerAddress } from '../cluster/metadata.ts';
import type { BrokerConnection } from '../network/broker.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';

/** FindCoordinator's key types. */
export const GROUP_COORDINATOR = 0;
export const TRANSACTION_COORDINATOR = 1;

/**
 * Finds the broker coordinating a transactional id or a consumer group, and remembers it until a
 * request says it moved (`forget`). One attempt per call: callers retry retriable errors.
 */
export class Coordinators {
  private readonly cluster: Cluster;
  /** The coordinator of each key, with its address as FindCoordinator gave it. */
  private readonly known = new Map<string, BrokerAddress>();

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  async connection(keyType: number, key: string): Promise<BrokerConnection> {
    const id = `${keyType}\0${key}`;
    let coordinator = this.known.get(id);
    if (coordinator === undefined) {
      coordinator = await this.find(keyType, key);
      this.known.set(id, coordinator);
    }
    const nodeId = coordinator.nodeId;
    try {
      // Before the first metadata answer the coordinator is known only from FindCoordinator: its
      // address there saves waiting a backoff for metadata.
      return await this.cluster.connectionTo(nodeId, coordinator);
    } catch (e) {
      this.known.delete(id);
      // Usually the coordinator is a broker the metadata has not listed yet: refresh and retry.
      this.cluster.requestUpdate();
      if (e instanceof KafkaError && e.retriable) throw e;
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `cannot reach coordinator ${nodeId} for ${describeKey(keyType, key)}: ${(e as Error).message}`);
    }
  }

  forget(keyType: number, key: string): void {
    this.known.delete(`${keyType}\0${key}`);
  }

  private async find(keyType: number, key: string): Promise<BrokerAddress> {
    const conn = await this.cluster.anyBroker();
    const version = conn.version(Apis.findCoordinator);
    // Version 4 batches keys; earlier versions take one key and answer at the top level.
    const res = await conn.call(Apis.findCoordinator, version >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType }, version);
    const answer = version >= 4 ? res.coordinators.find((c) => c.key === key) : res;
    if (!answer) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator answered nothing for ${describeKey(keyType, key)}`);
    if (answer.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(answer.errorCode, undefined, { message: `FindCoordinator for ${describeKey(keyType, key)}${answer.errorMessage ? `: ${answer.errorMessage}` : ''}` });
    }
    return { nodeId: answer.nodeId, host: answer.host, port: answer.port };
  }
}

export function describeKey(keyType: number, key: string): string {
  return `${keyType === TRANSACTION_COORDINATOR ? 'transactional id' : 'group'} ${JSON.stringify(key)}`;
}
