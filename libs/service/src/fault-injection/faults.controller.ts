import { BadRequestException, Body, Controller, Get, Put } from '@nestjs/common';
import { FaultInjector, type FaultRule } from './fault-injector';

/** `GET|PUT /faults`: read or replace the fault rules at run time (refused in production). */
@Controller('faults')
export class FaultsController {
  constructor(private readonly faults: FaultInjector) {}

  @Get()
  list(): { enabled: boolean; rules: readonly FaultRule[] } {
    return { enabled: this.faults.enabled, rules: this.faults.current() };
  }

  @Put()
  replace(@Body() body: { rules?: FaultRule[] }): { rules: readonly FaultRule[] } {
    if (!body || !Array.isArray(body.rules)) throw new BadRequestException({ message: 'expected { rules: [{ command, mode, rate, match? }] }' });
    try {
      this.faults.configure(body.rules);
    } catch (error) {
      throw new BadRequestException({ message: (error as Error).message });
    }
    return { rules: this.faults.current() };
  }
}
