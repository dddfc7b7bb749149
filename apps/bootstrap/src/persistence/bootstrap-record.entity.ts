import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type BootstrapStatus = 'BOOTSTRAPPED';

/** A site whose schema, content and config file are in place (table `bootstrap_records`). */
@Entity({ name: 'bootstrap_records' })
export class BootstrapRecordEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  @Column('text')
  status!: BootstrapStatus;

  @Column('text', { name: 'admin_user' })
  adminUser!: string;

  @Column('text', { name: 'bootstrap_version' })
  bootstrapVersion!: string;

  /** The saga that bootstrapped the site (null for records older than the column). */
  @Column('uuid', { name: 'saga_id', nullable: true })
  sagaId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
