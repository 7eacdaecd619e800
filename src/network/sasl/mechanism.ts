/**
 * The interface between a connection and one SASL mechanism. kafkarx runs SaslHandshake with
 * `mechanism`, then calls `authenticate`, whose `send` wraps each message in a SaslAuthenticate
 * request (KIP-152) and resolves with the server's answer. Built-in mechanisms implement it;
 * so can a user's (AWS MSK IAM, a company's own), passed as the `sasl` setting:
 *
 * ```ts
 * const mine: SaslMechanism = {
 *   mechanism: 'AWS_MSK_IAM',
 *   async authenticate({ host, send }) {
 *     const answer = await send(Buffer.from(JSON.stringify(await signedPayload(host))));
 *     if (!isOk(answer)) throw new Error('the broker did not accept the signature');
 *   },
 * };
 * ```
 */
export interface SaslMechanism {
  /** The name the broker knows the mechanism by, as in `sasl.enabled.mechanisms`: 'PLAIN', 'AWS_MSK_IAM'. */
  readonly mechanism: string;
  /**
   * One complete exchange; called for every new connection and for every re-authentication of
   * a connection (KIP-368). Resolve when the server has accepted us. Throwing fails the
   * connection with an AuthenticationError whose `cause` is what was thrown, so keep
   * credentials out of its message.
   */
  authenticate(exchange: SaslExchange): Promise<void>;
}

export interface SaslExchange {
  /** The broker being authenticated to, as the client connects to it. */
  readonly host: string;
  readonly port: number;
  /**
   * Sends one message of the mechanism and resolves with the server's answer (empty when it has
   * nothing to say). Rejects with an AuthenticationError carrying the broker's message when the
   * broker refuses.
   */
  send(message: Uint8Array): Promise<Buffer>;
}
