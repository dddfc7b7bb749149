import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

/**
 * Saga ids whose state just committed in this process: the admin stream pushes them
 * at once (changes made by other replicas reach it through its poll).
 */
@Injectable()
export class SagaChanges {
  private readonly subject = new Subject<string>();
  readonly changes$ = this.subject.asObservable();

  committed(sagaId: string): void {
    this.subject.next(sagaId);
  }
}
