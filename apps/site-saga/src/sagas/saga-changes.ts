import { Injectable } from '@nestjs/common';
import { SagaStream } from '../admin/saga-stream';

/**
 * Told of every saga change this process committed, so the admin stream pushes it at
 * once (changes committed by other replicas reach the stream through its poll).
 */
@Injectable()
export class SagaChanges {
  constructor(private readonly stream: SagaStream) {}

  /** Call only after the transaction committed. Cheap; never throws. */
  committed(sagaId: string): void {
    this.stream.publish(sagaId);
  }
}
