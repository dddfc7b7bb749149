import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SagaEngine } from '@sitesaga/saga';

/**
 * The host's SagaEngine, as the admin's services reach it: injected when visible to the
 * admin module (a global module, or one the host passed in `imports`), otherwise looked
 * up once in the whole application, so a host that provides it in its root module needs
 * no extra wiring.
 */
@Injectable()
export class HostSagaEngine {
  private resolved: SagaEngine | null;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(SagaEngine) engine: SagaEngine | null,
  ) {
    this.resolved = engine ?? null;
  }

  /** The engine, or null when the application provides none. */
  find(): SagaEngine | null {
    this.resolved ??= this.moduleRef.get(SagaEngine, { strict: false }) as SagaEngine | null;
    return this.resolved;
  }

  /** The engine; an error naming the missing provider when there is none. */
  get(): SagaEngine {
    const engine = this.find();
    if (!engine) throw new Error('AdminModule needs a SagaEngine provider (token: the SagaEngine class)');
    return engine;
  }
}
