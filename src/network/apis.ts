import * as M from '../protocol/messages/index.ts';
import type { Reader } from '../protocol/reader.ts';
import type { Writer } from '../protocol/writer.ts';

/** One Kafka API as the client calls it: the request it writes and the response it reads. */
export interface Api<Req, Res> {
  key: number;
  name: string;
  isFlexible(version: number): boolean;
  encode(w: Writer, version: number, request: Req): void;
  decode(r: Reader, version: number): Res;
}

export const Apis = {
  apiVersions: { key: M.ApiVersions.API_KEY, name: M.ApiVersions.API_NAME, isFlexible: M.ApiVersions.isFlexible, encode: M.ApiVersions.encodeApiVersionsRequest, decode: M.ApiVersions.decodeApiVersionsResponse },
  metadata: { key: M.Metadata.API_KEY, name: M.Metadata.API_NAME, isFlexible: M.Metadata.isFlexible, encode: M.Metadata.encodeMetadataRequest, decode: M.Metadata.decodeMetadataResponse },
  produce: { key: M.Produce.API_KEY, name: M.Produce.API_NAME, isFlexible: M.Produce.isFlexible, encode: M.Produce.encodeProduceRequest, decode: M.Produce.decodeProduceResponse },
  initProducerId: { key: M.InitProducerId.API_KEY, name: M.InitProducerId.API_NAME, isFlexible: M.InitProducerId.isFlexible, encode: M.InitProducerId.encodeInitProducerIdRequest, decode: M.InitProducerId.decodeInitProducerIdResponse },
  findCoordinator: { key: M.FindCoordinator.API_KEY, name: M.FindCoordinator.API_NAME, isFlexible: M.FindCoordinator.isFlexible, encode: M.FindCoordinator.encodeFindCoordinatorRequest, decode: M.FindCoordinator.decodeFindCoordinatorResponse },
  addPartitionsToTxn: { key: M.AddPartitionsToTxn.API_KEY, name: M.AddPartitionsToTxn.API_NAME, isFlexible: M.AddPartitionsToTxn.isFlexible, encode: M.AddPartitionsToTxn.encodeAddPartitionsToTxnRequest, decode: M.AddPartitionsToTxn.decodeAddPartitionsToTxnResponse },
  addOffsetsToTxn: { key: M.AddOffsetsToTxn.API_KEY, name: M.AddOffsetsToTxn.API_NAME, isFlexible: M.AddOffsetsToTxn.isFlexible, encode: M.AddOffsetsToTxn.encodeAddOffsetsToTxnRequest, decode: M.AddOffsetsToTxn.decodeAddOffsetsToTxnResponse },
  endTxn: { key: M.EndTxn.API_KEY, name: M.EndTxn.API_NAME, isFlexible: M.EndTxn.isFlexible, encode: M.EndTxn.encodeEndTxnRequest, decode: M.EndTxn.decodeEndTxnResponse },
  txnOffsetCommit: { key: M.TxnOffsetCommit.API_KEY, name: M.TxnOffsetCommit.API_NAME, isFlexible: M.TxnOffsetCommit.isFlexible, encode: M.TxnOffsetCommit.encodeTxnOffsetCommitRequest, decode: M.TxnOffsetCommit.decodeTxnOffsetCommitResponse },
  createTopics: { key: M.CreateTopics.API_KEY, name: M.CreateTopics.API_NAME, isFlexible: M.CreateTopics.isFlexible, encode: M.CreateTopics.encodeCreateTopicsRequest, decode: M.CreateTopics.decodeCreateTopicsResponse },
  createPartitions: { key: M.CreatePartitions.API_KEY, name: M.CreatePartitions.API_NAME, isFlexible: M.CreatePartitions.isFlexible, encode: M.CreatePartitions.encodeCreatePartitionsRequest, decode: M.CreatePartitions.decodeCreatePartitionsResponse },
  saslHandshake: { key: M.SaslHandshake.API_KEY, name: M.SaslHandshake.API_NAME, isFlexible: M.SaslHandshake.isFlexible, encode: M.SaslHandshake.encodeSaslHandshakeRequest, decode: M.SaslHandshake.decodeSaslHandshakeResponse },
  saslAuthenticate: { key: M.SaslAuthenticate.API_KEY, name: M.SaslAuthenticate.API_NAME, isFlexible: M.SaslAuthenticate.isFlexible, encode: M.SaslAuthenticate.encodeSaslAuthenticateRequest, decode: M.SaslAuthenticate.decodeSaslAuthenticateResponse },
} as const;

export type RequestOf<A> = A extends Api<infer Req, unknown> ? Req : never;
export type ResponseOf<A> = A extends Api<never, infer Res> ? Res : never;
