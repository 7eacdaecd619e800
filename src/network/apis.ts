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

interface MessageModule {
  API_KEY: number;
  API_NAME: string;
  isFlexible(version: number): boolean;
}

/** An API from its generated module: the request the client writes, the response it reads. */
function api<Req, Res>(m: MessageModule, encode: Api<Req, Res>['encode'], decode: Api<Req, Res>['decode']): Api<Req, Res> {
  return { key: m.API_KEY, name: m.API_NAME, isFlexible: m.isFlexible, encode, decode };
}

export const Apis = {
  apiVersions: api(M.ApiVersions, M.ApiVersions.encodeApiVersionsRequest, M.ApiVersions.decodeApiVersionsResponse),
  metadata: api(M.Metadata, M.Metadata.encodeMetadataRequest, M.Metadata.decodeMetadataResponse),
  produce: api(M.Produce, M.Produce.encodeProduceRequest, M.Produce.decodeProduceResponse),
  initProducerId: api(M.InitProducerId, M.InitProducerId.encodeInitProducerIdRequest, M.InitProducerId.decodeInitProducerIdResponse),
  findCoordinator: api(M.FindCoordinator, M.FindCoordinator.encodeFindCoordinatorRequest, M.FindCoordinator.decodeFindCoordinatorResponse),
  addPartitionsToTxn: api(M.AddPartitionsToTxn, M.AddPartitionsToTxn.encodeAddPartitionsToTxnRequest, M.AddPartitionsToTxn.decodeAddPartitionsToTxnResponse),
  addOffsetsToTxn: api(M.AddOffsetsToTxn, M.AddOffsetsToTxn.encodeAddOffsetsToTxnRequest, M.AddOffsetsToTxn.decodeAddOffsetsToTxnResponse),
  endTxn: api(M.EndTxn, M.EndTxn.encodeEndTxnRequest, M.EndTxn.decodeEndTxnResponse),
  txnOffsetCommit: api(M.TxnOffsetCommit, M.TxnOffsetCommit.encodeTxnOffsetCommitRequest, M.TxnOffsetCommit.decodeTxnOffsetCommitResponse),
  createTopics: api(M.CreateTopics, M.CreateTopics.encodeCreateTopicsRequest, M.CreateTopics.decodeCreateTopicsResponse),
  createPartitions: api(M.CreatePartitions, M.CreatePartitions.encodeCreatePartitionsRequest, M.CreatePartitions.decodeCreatePartitionsResponse),
  saslHandshake: api(M.SaslHandshake, M.SaslHandshake.encodeSaslHandshakeRequest, M.SaslHandshake.decodeSaslHandshakeResponse),
  saslAuthenticate: api(M.SaslAuthenticate, M.SaslAuthenticate.encodeSaslAuthenticateRequest, M.SaslAuthenticate.decodeSaslAuthenticateResponse),
} as const;
