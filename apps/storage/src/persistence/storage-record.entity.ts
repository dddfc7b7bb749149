import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type StorageStatus = 'PROVISIONED' | 'DEPROVISIONED';

/** What storage knows of a site's directory (table `storage_records`). */
@Entity({ name: 'storage_records' })
export class StorageRecordEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  @Column('text')
  path!: string;

  @Column('text')
  status!: StorageStatus;

  /** The saga that last changed it. */
  @Column('uuid', { name: 'saga_id' })
  sagaId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
