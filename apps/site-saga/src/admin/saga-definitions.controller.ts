import { Controller, Get, UseFilters, UseGuards } from '@nestjs/common';
import type { SagaDefinitions } from '@sitesaga/http-contracts';
import { type AnySagaDefinition, UnknownSagaType } from '@sitesaga/saga';
import { SAGAS } from '../sagas';
import { AdminAuthGuard } from './admin-auth';
import { AdminErrorsFilter } from './admin-errors.filter';
import { HostSagaEngine } from './host-saga-engine';
import { definitionsView } from './saga-definitions';

/** `GET /admin/definitions`: every saga type the engine runs, as it runs it (`saga rehearse` derives its cases from it). */
@Controller('admin')
@UseGuards(AdminAuthGuard)
@UseFilters(AdminErrorsFilter)
export class SagaDefinitionsController {
  constructor(private readonly host: HostSagaEngine) {}

  @Get('definitions')
  definitions(): SagaDefinitions {
    const engine = this.host.get();
    // The engine's own (time-scaled) copy of each saga this service defines; one it does not run is left out.
    const running = SAGAS.flatMap((saga): AnySagaDefinition[] => {
      try {
        return [engine.definition(saga.type)];
      } catch (error) {
        if (error instanceof UnknownSagaType) return [];
        throw error;
      }
    });
    return definitionsView(running);
  }
}
