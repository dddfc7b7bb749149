import {
  BadRequestException,
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  NotFoundException,
  Put,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { bearerOf, type HeaderValue, OperatorTokens } from '../auth/operator-tokens';
import { FaultInjector, type FaultRule } from './fault-injector';

/**
 * `/faults` exists only when fault injection is switched on (FAULTS_ENABLED=1, never in
 * production): 404 otherwise, as for any unknown route. When on, it takes an operator
 * token (ADMIN_TOKEN or one of ADMIN_TOKENS): one request can put a service into a
 * SIGKILL loop.
 */
@Injectable()
export class FaultsGuard implements CanActivate {
  constructor(
    private readonly faults: FaultInjector,
    private readonly operators: OperatorTokens,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.faults.enabled) throw new NotFoundException({ message: 'Cannot find /faults (fault injection is off)', errors: [] });
    const request = context.switchToHttp().getRequest<{ headers: Record<string, HeaderValue> }>();
    if (this.operators.identify(bearerOf(request.headers.authorization)) === null) {
      throw new UnauthorizedException({ message: 'missing or invalid operator token (Authorization: Bearer <ADMIN_TOKEN>)', errors: [] });
    }
    return true;
  }
}

/** `GET|PUT /faults`: read or replace the fault rules at run time. */
@Controller('faults')
@UseGuards(FaultsGuard)
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
