/**
 * The producer was closed: whatever is asked of it afterwards, and whatever still waited when it
 * closed, fails with this. A client-side condition, not a broker's answer, so it carries no Kafka
 * error code (as the Java client's IllegalStateException and franz-go's ErrClientClosed); like the
 * fatal KafkaErrors it ends every stream (`isFatal`), after the records accepted before close()
 * were answered.
 */
export class ProducerClosedError extends Error {
  override name = 'ProducerClosedError';
  readonly retriable = false;
  readonly fatal = true;

  constructor(message = 'the producer is closed') {
    super(message);
  }
}
