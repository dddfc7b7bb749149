import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { SiteStatus } from '../domain/site-status';

/** A site record (table `sites`); the id is the site id every service names it by. */
@Entity({ name: 'sites' })
export class SiteEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  domain!: string;

  @Column('text', { nullable: true })
  tagline!: string | null;

  @Column('text', { name: 'admin_email', nullable: true })
  adminEmail!: string | null;

  @Column('text')
  status!: SiteStatus;

  /** The saga that last moved this site. */
  @Column('uuid', { name: 'saga_id' })
  sagaId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
