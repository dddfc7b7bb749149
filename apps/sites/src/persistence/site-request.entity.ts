import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A POST /sites the service accepted and sent on as CreateSite (table `site_requests`).
 * The site id is the saga id. `rejection` is set when the reservation was refused or
 * released before a site record existed.
 */
@Entity({ name: 'site_requests' })
export class SiteRequestEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  /** sha256 of the normalised payload: a key reused for another request is refused. */
  @Column('text', { name: 'request_hash' })
  requestHash!: string;

  @Column('text')
  name!: string;

  @Column('text')
  domain!: string;

  @Column('text', { nullable: true })
  tagline!: string | null;

  @Column('text', { name: 'admin_email' })
  adminEmail!: string;

  @Column('text', { name: 'correlation_id' })
  correlationId!: string;

  /** The client (SITES_CLIENT_KEYS) that asked for the site; null for an operator's. */
  @Column('text', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('text', { nullable: true })
  rejection!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
