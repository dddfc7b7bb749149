import { BaseRpcContext } from '@nestjs/microservices';
import type { KafkaMessage } from 'kafkajs';

type KafkaEnvelopeContextArgs = [topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>];

/** What a handler may want besides the envelope: where it came from, and a heartbeat. */
export class KafkaEnvelopeContext extends BaseRpcContext<KafkaEnvelopeContextArgs> {
  getTopic(): string {
    return this.args[0];
  }
  getPartition(): number {
    return this.args[1];
  }
  getMessage(): KafkaMessage {
    return this.args[2];
  }
  /** Call during long work to keep the consumer's group membership (the server also beats on a timer). */
  heartbeat(): Promise<void> {
    return this.args[3]();
  }
}
