import { refusalOf, repeatedReservation, siteUrlOf, takenReasons, TRANSITIONS } from './site-status';

describe('site status rules', () => {
  it('treats the same reservation for the same site id as a success again', () => {
    expect(repeatedReservation({ name: 'blog', domain: 'blog.example.com', status: 'PENDING' }, { name: 'blog', domain: 'blog.example.com' })).toEqual({
      ok: true,
    });
    expect(repeatedReservation({ name: 'blog', domain: 'blog.example.com', status: 'ACTIVE' }, { name: 'blog', domain: 'blog.example.com' })).toEqual({
      ok: true,
    });
  });

  it('refuses a reservation that reuses a site id for another name, or a released site', () => {
    expect(repeatedReservation({ name: 'blog', domain: 'blog.example.com', status: 'PENDING' }, { name: 'other', domain: 'blog.example.com' })).toEqual({
      ok: false,
      reason: 'site id already names another site',
    });
    expect(repeatedReservation({ name: 'blog', domain: 'blog.example.com', status: 'FAILED' }, { name: 'blog', domain: 'blog.example.com' })).toEqual({
      ok: false,
      reason: 'site is FAILED',
    });
  });

  it('names every part of a reservation that a live site holds', () => {
    expect(takenReasons({ name: true, domain: false })).toEqual({ reason: 'name taken', reasons: [{ field: 'name', message: 'taken' }] });
    expect(takenReasons({ name: false, domain: true })).toEqual({ reason: 'domain taken', reasons: [{ field: 'domain', message: 'taken' }] });
    expect(takenReasons({ name: true, domain: true })).toEqual({
      reason: 'name taken; domain taken',
      reasons: [
        { field: 'name', message: 'taken' },
        { field: 'domain', message: 'taken' },
      ],
    });
    expect(takenReasons({ name: false, domain: false })).toBeNull();
  });

  it('lets every command succeed again on a site already in its target status', () => {
    for (const transition of Object.values(TRANSITIONS)) expect(transition.from).toContain(transition.to);
  });

  it('explains why a command cannot move a site', () => {
    expect(refusalOf('activate', null)).toBe('unknown site');
    expect(refusalOf('markDeleting', 'PENDING')).toBe('site is still being created');
    expect(refusalOf('markDeleting', 'DELETED')).toBe('site is already deleted');
    expect(refusalOf('markDeleted', 'ACTIVE')).toBe('site is not being deleted (status ACTIVE)');
    expect(refusalOf('activate', 'FAILED')).toBe('site is FAILED');
  });

  it('gives an active site its https address', () => {
    expect(siteUrlOf('blog.example.com')).toBe('https://blog.example.com');
  });
});
