import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { httpErrorOf } from './http-errors.filter';

describe('HTTP error bodies', () => {
  it('keeps field reasons and gives every 4xx an errors list', () => {
    expect(httpErrorOf(new BadRequestException({ message: 'invalid', errors: [{ field: 'name', message: 'is required' }] }))).toEqual({
      status: 400,
      body: { message: 'invalid', errors: [{ field: 'name', message: 'is required' }] },
    });
    expect(httpErrorOf(new NotFoundException('Cannot GET /nope'))).toEqual({ status: 404, body: { message: 'Cannot GET /nope', errors: [] } });
  });

  it('turns body-parser errors into JSON 413 and 400', () => {
    expect(httpErrorOf(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }))).toEqual({
      status: 413,
      body: { message: 'request body too large', errors: [{ field: '(body)', message: 'must be at most 16kb' }] },
    });
    expect(httpErrorOf(Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', status: 400 }))).toEqual({
      status: 400,
      body: { message: 'request body is not valid JSON', errors: [{ field: '(body)', message: 'is not valid JSON' }] },
    });
  });

  it('leaves non-client errors as they are and hides unexpected ones', () => {
    expect(httpErrorOf(new ServiceUnavailableException({ status: 'error', checks: {} })).body).toEqual({ status: 'error', checks: {} });
    expect(httpErrorOf(new Error('password=hunter2 leaked'))).toEqual({ status: 500, body: { message: 'internal error' } });
  });
});
