import { applyDecorators, Catch, Controller, type RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { MessageDefinition } from '@sitesaga/message-kit';
import { type Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter replaces any error with "Internal server error", so the
 * transport could not tell a transient error from a poison message. This one hands the
 * original error back to the transport, which classifies it.
 */
@Catch()
export class RethrowToTransportFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/** Marks a method as the handler of these message types (dispatched by envelope `type`). */
export const OnMessage = (...definitions: readonly MessageDefinition[]): MethodDecorator =>
  applyDecorators(EventPattern(definitions.map((definition) => definition.type)), UseFilters(RethrowToTransportFilter));

/**
 * Class form: `@HandlesMessage(ProvisionStorage) class ProvisionStorageHandler { handle(envelope) {} }`.
 * The class becomes a Nest controller whose `handle` method receives the validated envelope.
 */
export const HandlesMessage =
  (...definitions: readonly MessageDefinition[]): ClassDecorator =>
  (target) => {
    Controller()(target);
    const prototype = target.prototype as Record<string, unknown>;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, 'handle');
    if (!descriptor || typeof descriptor.value !== 'function') throw new Error(`${target.name} must define handle(envelope)`);
    OnMessage(...definitions)(prototype, 'handle', descriptor);
  };

/**
 * Marks a method as the answer to messages of these types whose payload is invalid
 * (it receives an `InvalidMessage`); without one, such messages go to the DLQ.
 */
export const OnInvalidMessage = (...definitions: readonly MessageDefinition[]): MethodDecorator =>
  applyDecorators(EventPattern(definitions.map((definition) => `invalid:${definition.type}`)), UseFilters(RethrowToTransportFilter));
